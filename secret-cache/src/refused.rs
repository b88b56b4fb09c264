//! Whether a backend refused a login, for
//! [`Attempt::classify`](crate::Attempt::classify), from the error each
//! driver reports: refusals are what [`with_current`] retries with a newer
//! value, and anything else (the network, a query) must not make it read
//! Secrets Manager. Driver-neutral, so the cache depends on no driver; the
//! `postgres` feature has [`crate::postgres::is_login_refused`] for
//! tokio-postgres's error type.
//!
//! [`with_current`]: crate::SecretCache::with_current

/// MySQL's and MariaDB's server error `code` (`mysql_async`'s
/// `ServerError::code`, sqlx's `MySqlDatabaseError::number`) is a refused
/// login: 1045 `ER_ACCESS_DENIED_ERROR` (a wrong password or unknown user)
/// or 1698 `ER_ACCESS_DENIED_NO_PASSWORD_ERROR`. 1044 (no access to the
/// database) is not: the login worked, and another value will not help.
pub fn mysql(code: u16) -> bool {
    matches!(code, 1045 | 1698)
}

/// Redis's error `reply` (the server's text, as redis-rs and other clients
/// pass it on) is a refused `AUTH`: `WRONGPASS` from Redis 6's ACL users,
/// or `ERR invalid password` from the `requirepass` of older servers.
/// `NOAUTH` (no `AUTH` sent at all) is not.
pub fn redis(reply: &str) -> bool {
    let reply = reply.trim_start();
    reply.starts_with("WRONGPASS") || reply.starts_with("ERR invalid password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_refusals_are_the_access_denied_codes() {
        assert!(mysql(1045));
        assert!(mysql(1698));
        for other in [1044, 1040, 2013, 1205, 0] {
            assert!(!mysql(other), "{other}");
        }
    }

    #[test]
    fn redis_refusals_are_wrongpass_and_the_old_invalid_password() {
        assert!(redis(
            "WRONGPASS invalid username-password pair or user is disabled."
        ));
        assert!(redis("ERR invalid password"));
        for other in [
            "NOAUTH Authentication required.",
            "ERR unknown command",
            "LOADING Redis is loading the dataset in memory",
            "",
        ] {
            assert!(!redis(other), "{other}");
        }
    }
}
