//! Which server a session talks to (MariaDB or MySQL, and which version),
//! read from `SELECT VERSION()`, and what follows from it: the username
//! limit and the statements each accepts.

use std::fmt;

/// The two families of servers this rotator speaks to. Aurora MySQL is
/// MySQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Oracle's MySQL, RDS for MySQL and Aurora MySQL.
    MySql,
    /// MariaDB and RDS for MariaDB.
    MariaDb,
}

/// A server's family and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    /// MariaDB or MySQL.
    pub flavor: Flavor,
    /// Major version (MariaDB's own: 10 or 11, never the `5.5.5` prefix).
    pub major: u16,
    /// Minor version.
    pub minor: u16,
    /// Patch version; 0 where the string has none (Aurora's
    /// `8.0.mysql_aurora.3.05.2`).
    pub patch: u16,
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.flavor {
            Flavor::MySql => "MySQL",
            Flavor::MariaDb => "MariaDB",
        };
        write!(f, "{name} {}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The version string did not look like MySQL's or MariaDB's.
#[derive(Debug, thiserror::Error)]
#[error("the server's version `{0}` is neither MySQL's nor MariaDB's")]
pub struct UnknownVersion(pub String);

impl ServerVersion {
    /// Parses `VERSION()` or the handshake's version: `8.0.36`,
    /// `8.4.0-log`, `5.7.44-0ubuntu0.18.04.1`, `8.0.mysql_aurora.3.05.2`,
    /// `10.11.6-MariaDB-0+deb12u1-log`, and MariaDB's replication prefix
    /// `5.5.5-10.11.6-MariaDB` (sent by MariaDB before 11.0 so that old
    /// clients would not take it for MySQL 10). "Version 10 or 11" is never
    /// read as MySQL: the family comes from the `MariaDB` mark.
    pub fn parse(version: &str) -> Result<Self, UnknownVersion> {
        let unknown = || UnknownVersion(version.chars().take(100).collect());
        let trimmed = version.trim();
        let flavor = if trimmed.to_ascii_lowercase().contains("mariadb") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
        let text = match flavor {
            Flavor::MariaDb => trimmed.strip_prefix("5.5.5-").unwrap_or(trimmed),
            Flavor::MySql => trimmed,
        };
        let mut numbers = text
            .split(['.', '-', '+', '_'])
            .map(|part| part.parse::<u16>().ok());
        let major = numbers.next().flatten().ok_or_else(unknown)?;
        let minor = numbers.next().flatten().ok_or_else(unknown)?;
        let patch = numbers.next().flatten().unwrap_or(0);
        let plausible = match flavor {
            Flavor::MySql => (5..=9).contains(&major),
            Flavor::MariaDb => (10..=30).contains(&major),
        };
        if !plausible {
            return Err(unknown());
        }
        Ok(Self {
            flavor,
            major,
            minor,
            patch,
        })
    }

    fn at_least(&self, major: u16, minor: u16, patch: u16) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// The longest username the server accepts, in characters: MariaDB
    /// 80; MySQL 32 since 5.7.8, 16 before.
    pub fn username_limit(&self) -> usize {
        match self.flavor {
            Flavor::MariaDb => 80,
            Flavor::MySql if self.at_least(5, 7, 8) => 32,
            Flavor::MySql => 16,
        }
    }

    /// Whether roles exist (MySQL 8.0, MariaDB 10.0.5).
    pub fn has_roles(&self) -> bool {
        match self.flavor {
            Flavor::MySql => self.at_least(8, 0, 0),
            Flavor::MariaDb => self.at_least(10, 0, 5),
        }
    }

    /// Whether the server is one this rotator supports: MySQL 5.7.6 or
    /// later, MariaDB 10.4 or later (whose `mysql.global_priv` keeps each
    /// account's authentication plugin).
    pub fn check_supported(&self) -> Result<(), String> {
        let supported = match self.flavor {
            Flavor::MySql => self.at_least(5, 7, 6),
            Flavor::MariaDb => self.at_least(10, 4, 0),
        };
        if supported {
            Ok(())
        } else {
            Err(format!(
                "{self} is older than this function supports (MySQL 5.7.6, MariaDB 10.4)"
            ))
        }
    }
}

/// The flags of `sql_mode` that change how statements are quoted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqlMode {
    /// `NO_BACKSLASH_ESCAPES`: a backslash in a string literal is an
    /// ordinary character.
    pub no_backslash_escapes: bool,
    /// `ANSI_QUOTES` (also set by `ANSI`): double quotes delimit
    /// identifiers, not strings.
    pub ansi_quotes: bool,
}

impl SqlMode {
    /// Reads `@@SESSION.sql_mode`, a comma-separated list of flags.
    pub fn parse(sql_mode: &str) -> Self {
        let mut mode = Self::default();
        for flag in sql_mode.split(',').map(str::trim) {
            match flag.to_ascii_uppercase().as_str() {
                "NO_BACKSLASH_ESCAPES" => mode.no_backslash_escapes = true,
                "ANSI_QUOTES" | "ANSI" => mode.ansi_quotes = true,
                _ => {}
            }
        }
        mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(flavor: Flavor, major: u16, minor: u16, patch: u16) -> ServerVersion {
        ServerVersion {
            flavor,
            major,
            minor,
            patch,
        }
    }

    #[test]
    fn versions_of_every_family_parse() {
        use Flavor::*;
        let cases = [
            ("5.7.44", version(MySql, 5, 7, 44)),
            ("5.7.44-0ubuntu0.18.04.1-log", version(MySql, 5, 7, 44)),
            ("8.0.36", version(MySql, 8, 0, 36)),
            ("8.0.mysql_aurora.3.05.2", version(MySql, 8, 0, 0)),
            ("5.7.mysql_aurora.2.11.2", version(MySql, 5, 7, 0)),
            ("8.4.3-log", version(MySql, 8, 4, 3)),
            ("9.1.0", version(MySql, 9, 1, 0)),
            ("10.11.6-MariaDB-0+deb12u1-log", version(MariaDb, 10, 11, 6)),
            (
                "5.5.5-10.11.6-MariaDB-0+deb12u1",
                version(MariaDb, 10, 11, 6),
            ),
            ("5.5.5-10.6.16-MariaDB-log", version(MariaDb, 10, 6, 16)),
            ("11.4.2-MariaDB", version(MariaDb, 11, 4, 2)),
            (
                "10.4.34-MariaDB-1:10.4.34+maria~ubu2004",
                version(MariaDb, 10, 4, 34),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(ServerVersion::parse(text).unwrap(), expected, "{text}");
        }
        for bad in ["", "PostgreSQL 15", "x.y", "10.11.6", "3.1.4"] {
            assert!(ServerVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn username_limits_follow_the_server() {
        let limit = |text| ServerVersion::parse(text).unwrap().username_limit();
        assert_eq!(limit("5.7.7"), 16);
        assert_eq!(limit("5.7.44"), 32);
        assert_eq!(limit("8.0.36"), 32);
        assert_eq!(limit("9.1.0"), 32);
        assert_eq!(limit("5.5.5-10.11.6-MariaDB"), 80);
        assert_eq!(limit("11.4.2-MariaDB"), 80);
    }

    #[test]
    fn old_servers_are_named_as_unsupported() {
        for text in ["5.6.51", "5.7.5", "10.3.39-MariaDB"] {
            let message = ServerVersion::parse(text)
                .unwrap()
                .check_supported()
                .unwrap_err();
            assert!(message.contains("older than"), "{message}");
        }
        for text in ["5.7.6", "8.0.36", "8.4.3", "9.1.0", "10.4.0-MariaDB"] {
            ServerVersion::parse(text)
                .unwrap()
                .check_supported()
                .unwrap();
        }
    }

    #[test]
    fn sql_modes_that_change_quoting_are_read() {
        assert_eq!(SqlMode::parse(""), SqlMode::default());
        let mode = SqlMode::parse("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES");
        assert!(mode.no_backslash_escapes && !mode.ansi_quotes);
        let mode = SqlMode::parse("REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE");
        assert!(mode.ansi_quotes && !mode.no_backslash_escapes);
        assert!(SqlMode::parse("ansi").ansi_quotes);
    }
}
