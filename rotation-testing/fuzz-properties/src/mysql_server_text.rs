//! Any bytes as what a MySQL-family server tells the MySQL rotator about
//! itself and its accounts: a `VERSION()` string, an `sql_mode`, and lines
//! of `SHOW GRANTS` under both quoting modes. Reading never panics; a
//! grant set read from the lines produces statements that turn it into
//! itself with nothing to do, and into an empty set without panicking.

use mysql_rotator::grants::GrantSet;
use mysql_rotator::server::{ServerVersion, SqlMode};

/// Checks the property for one input; panics when it does not hold.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(version) = ServerVersion::parse(text) {
        let _ = version.username_limit();
        let _ = version.check_supported();
    }
    let _ = SqlMode::parse(text);
    for ansi_quotes in [false, true] {
        let mode = SqlMode {
            no_backslash_escapes: !ansi_quotes,
            ansi_quotes,
        };
        if let Ok(set) = GrantSet::parse(text.lines(), mode) {
            assert!(set.statements_to_match(&set, "`c`@`%`").is_empty());
            let _ = GrantSet::default().statements_to_match(&set, "`c`@`%`");
            let _ = set.statements_to_match(&GrantSet::default(), "`c`@`%`");
            let _ = set.administers_users();
        }
    }
}
