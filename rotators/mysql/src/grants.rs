//! An account's grants as `SHOW GRANTS` prints them, read into sets, and
//! the statements that make one account's grants equal another's:
//! privileges per object (columns included), `WITH GRANT OPTION`, role
//! grants with their admin option, and proxy grants.

use std::collections::{BTreeMap, BTreeSet};

use crate::server::SqlMode;
use crate::sql::quote_identifier;

/// What an account has been granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantSet {
    /// (object, privilege, column): `(`db`.*, SELECT, None)`.
    pub privileges: BTreeSet<(String, String, Option<String>)>,
    /// Objects on which the account holds `GRANT OPTION`.
    pub grant_option: BTreeSet<String>,
    /// Granted roles, quoted (`` `r` `` or `` `r`@`%` ``), and whether
    /// with `ADMIN OPTION`.
    pub roles: BTreeMap<String, bool>,
    /// Proxy grants: the proxied account, quoted, and whether with
    /// `GRANT OPTION`.
    pub proxies: BTreeMap<String, bool>,
}

/// A `SHOW GRANTS` line this module cannot read, or one it refuses to copy.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the grant `{line}`: {reason}")]
pub struct UnreadableGrant {
    /// The line, cut at its account name (after which a MariaDB line may
    /// hold the password hash).
    pub line: String,
    /// Why.
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Identifier(String),
    Text(String),
    Punct(char),
}

impl Token {
    fn is_word(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn render(&self) -> String {
        match self {
            Token::Word(w) => w.to_ascii_uppercase(),
            // In objects and account names a quoted string and an
            // identifier name the same thing.
            Token::Identifier(s) | Token::Text(s) => quote_identifier(s),
            Token::Punct(c) => c.to_string(),
        }
    }
}

/// The schema of a rendered object (`` `db`.* `` or `` `db`.`table` ``),
/// unquoted, and whether it names a table.
fn schema_of(object: &str) -> Option<(String, Option<&str>)> {
    let rest = object.strip_prefix('`')?;
    let mut schema = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '`' {
            schema.push(c);
            continue;
        }
        if rest[i + 1..].starts_with('`') {
            schema.push('`');
            chars.next();
            continue;
        }
        let table = rest[i + 1..].strip_prefix('.')?;
        return Some((schema, (table != "*").then_some(table)));
    }
    None
}

/// Whether `name` matches the LIKE pattern `pattern` (`%` any run, `_` one
/// character, `\` escaping either), as MySQL matches schema-level grants.
fn like(pattern: &str, name: &str) -> bool {
    fn matches(pattern: &[char], name: &[char]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some(('%', rest)) => (0..=name.len()).any(|skip| matches(rest, &name[skip..])),
            Some(('_', rest)) => !name.is_empty() && matches(rest, &name[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                name.first() == Some(&rest[0]) && matches(&rest[1..], &name[1..])
            }
            Some((c, rest)) => name.first() == Some(c) && matches(rest, &name[1..]),
        }
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches(&pattern, &name)
}

fn tokenize(line: &str, mode: SqlMode) -> Result<Vec<Token>, &'static str> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '`' | '\'' | '"' => {
                // A backslash escapes only inside a string; under
                // ANSI_QUOTES `"…"` is an identifier, where it does not.
                let string = c == '\'' || (c == '"' && !mode.ansi_quotes);
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => return Err("an unterminated quote"),
                        Some('\\') if string && !mode.no_backslash_escapes => {
                            if let Some(next) = chars.next() {
                                text.push(next);
                            }
                        }
                        Some(q) if q == c => {
                            if chars.peek() == Some(&c) {
                                chars.next();
                                text.push(c);
                            } else {
                                break;
                            }
                        }
                        Some(other) => text.push(other),
                    }
                }
                tokens.push(match c {
                    '`' => Token::Identifier(text),
                    '"' if mode.ansi_quotes => Token::Identifier(text),
                    _ => Token::Text(text),
                });
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '$' {
                        word.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            other => tokens.push(Token::Punct(other)),
        }
    }
    Ok(tokens)
}

fn render(tokens: &[Token]) -> String {
    let mut out = String::new();
    for (i, token) in tokens.iter().enumerate() {
        out.push_str(&token.render());
        let next_is_name = tokens
            .get(i + 1)
            .is_some_and(|t| !matches!(t, Token::Punct(_)));
        if matches!(token, Token::Word(_)) && next_is_name {
            out.push(' ');
        }
    }
    out
}

/// Splits at commas outside parentheses.
fn split_top_level(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth = depth.saturating_sub(1),
            Token::Punct(',') if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

fn has_words(tokens: &[Token], words: &[&str]) -> bool {
    tokens
        .windows(words.len())
        .any(|w| w.iter().zip(words).all(|(t, word)| t.is_word(word)))
}

/// The line up to its account name, for messages: MariaDB prints the
/// password hash after it.
fn shown(line: &str) -> String {
    let cut = line.find(" TO ").or_else(|| line.find(" FOR "));
    let head = cut.map_or(line, |at| &line[..at]);
    head.chars().take(200).collect()
}

impl GrantSet {
    /// Reads the lines of `SHOW GRANTS FOR account` under `mode`.
    /// `SET DEFAULT ROLE` lines are skipped (default roles are read from
    /// the server's tables); MySQL's partial revokes are refused by name.
    pub fn parse<'a>(
        lines: impl IntoIterator<Item = &'a str>,
        mode: SqlMode,
    ) -> Result<Self, UnreadableGrant> {
        let mut set = Self::default();
        for line in lines {
            set.add_line(line, mode).map_err(|reason| UnreadableGrant {
                line: shown(line),
                reason,
            })?;
        }
        Ok(set)
    }

    fn add_line(&mut self, line: &str, mode: SqlMode) -> Result<(), &'static str> {
        let tokens = tokenize(line, mode)?;
        match tokens.first() {
            Some(t) if t.is_word("SET") => return Ok(()),
            Some(t) if t.is_word("REVOKE") => {
                return Err("partial revokes (MySQL's partial_revokes) are not copied to the clone; grant the clone by hand or turn partial revokes off")
            }
            Some(t) if t.is_word("GRANT") => {}
            _ => return Err("it is not a GRANT"),
        }
        let to = tokens
            .iter()
            .position(|t| t.is_word("TO"))
            .ok_or("it has no TO")?;
        let on = tokens[..to].iter().position(|t| t.is_word("ON"));
        let rest = &tokens[to + 1..];
        match on {
            None => {
                let admin = has_words(rest, &["WITH", "ADMIN", "OPTION"]);
                for role in split_top_level(&tokens[1..to]) {
                    if role.is_empty() {
                        return Err("an empty role");
                    }
                    self.roles.insert(render(role), admin);
                }
            }
            Some(on) => {
                let object = render(&tokens[on + 1..to]);
                let grantable = has_words(rest, &["WITH", "GRANT", "OPTION"]);
                let privileges = &tokens[1..on];
                if privileges.len() == 1 && privileges[0].is_word("PROXY") {
                    self.proxies.insert(object, grantable);
                    return Ok(());
                }
                for privilege in split_top_level(privileges) {
                    self.add_privilege(&object, privilege)?;
                }
                if grantable {
                    self.grant_option.insert(object);
                }
            }
        }
        Ok(())
    }

    fn add_privilege(&mut self, object: &str, tokens: &[Token]) -> Result<(), &'static str> {
        let open = tokens.iter().position(|t| *t == Token::Punct('('));
        let words = &tokens[..open.unwrap_or(tokens.len())];
        if words.is_empty() || !words.iter().all(|t| matches!(t, Token::Word(_))) {
            return Err("a privilege that is not a name");
        }
        let mut name = render(words);
        if name == "ALL" {
            name = "ALL PRIVILEGES".into();
        }
        if name == "USAGE" {
            return Ok(());
        }
        match open {
            None => {
                self.privileges.insert((object.to_owned(), name, None));
            }
            Some(open) => {
                let closed = tokens.len() > open + 1 && tokens.last() == Some(&Token::Punct(')'));
                if !closed {
                    return Err("a column list that is not closed");
                }
                let columns = &tokens[open + 1..tokens.len() - 1];
                for column in split_top_level(columns) {
                    match column {
                        [Token::Identifier(c) | Token::Text(c) | Token::Word(c)] => {
                            self.privileges.insert((
                                object.to_owned(),
                                name.clone(),
                                Some(quote_identifier(c)),
                            ));
                        }
                        _ => return Err("a column list that is not names"),
                    }
                }
            }
        }
        Ok(())
    }

    /// Why the account administers users, if it does: a global `ALL
    /// PRIVILEGES`, `SUPER` or `CREATE USER`, a global `GRANT OPTION`, or
    /// write access to the `mysql` schema (where accounts live).
    pub fn administers_users(&self) -> Option<String> {
        // Privileges that create, change or act as other accounts: MySQL
        // 8's dynamic ones and MariaDB's SET USER beside the classic ones.
        const GLOBAL: [&str; 10] = [
            "ALL PRIVILEGES",
            "SUPER",
            "CREATE USER",
            "ROLE_ADMIN",
            "SYSTEM_USER",
            "SET_USER_ID",
            "SET_ANY_DEFINER",
            "CREATE ROLE",
            "DROP ROLE",
            "SET USER",
        ];
        const MYSQL_WRITES: [&str; 6] = [
            "ALL PRIVILEGES",
            "INSERT",
            "UPDATE",
            "DELETE",
            "CREATE",
            "DROP",
        ];
        for (object, name, column) in &self.privileges {
            if object == "*.*" && GLOBAL.contains(&name.as_str()) {
                return Some(format!("{name} on *.*"));
            }
            let on_mysql = schema_of(object).is_some_and(|(schema, table)| {
                // A schema-level grant's name is a pattern (`%`, `_`).
                schema == "mysql" || (table.is_none() && like(&schema, "mysql"))
            });
            if on_mysql && column.is_none() && MYSQL_WRITES.contains(&name.as_str()) {
                return Some(format!("{name} on {object}"));
            }
        }
        // GRANT OPTION anywhere passes the user's rights on to accounts of
        // its choosing; PROXY lets it act as another account.
        if self.grant_option.contains("*.*") {
            return Some("GRANT OPTION on *.*".into());
        }
        if let Some(object) = self.grant_option.iter().next() {
            return Some(format!("GRANT OPTION on {object}"));
        }
        if let Some(account) = self.proxies.keys().next() {
            return Some(format!("PROXY on {account}"));
        }
        None
    }

    /// The statements that turn `self` (the clone's grants at one host)
    /// into `target` (the original's at the same host) for `account`:
    /// revocations first, so that a privilege narrowed on the original
    /// (from `ALL PRIVILEGES` to `SELECT`, say) is not revoked again after
    /// it was granted.
    pub fn statements_to_match(&self, target: &GrantSet, account: &str) -> Vec<String> {
        let mut revokes = Vec::new();
        let mut grants = Vec::new();

        let by_object = |set: &BTreeSet<(String, String, Option<String>)>| {
            let mut map: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
            for (object, name, column) in set {
                let columns = map
                    .entry(object.clone())
                    .or_default()
                    .entry(name.clone())
                    .or_default();
                if let Some(column) = column {
                    columns.push(column.clone());
                }
            }
            map
        };
        let list = |privileges: &BTreeMap<String, Vec<String>>| {
            privileges
                .iter()
                .map(|(name, columns)| {
                    if columns.is_empty() {
                        name.clone()
                    } else {
                        format!("{name} ({})", columns.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let extra: BTreeSet<_> = self
            .privileges
            .difference(&target.privileges)
            .cloned()
            .collect();
        for (object, privileges) in by_object(&extra) {
            revokes.push(format!(
                "REVOKE {} ON {object} FROM {account}",
                list(&privileges)
            ));
        }
        let missing: BTreeSet<_> = target
            .privileges
            .difference(&self.privileges)
            .cloned()
            .collect();
        for (object, privileges) in by_object(&missing) {
            grants.push(format!(
                "GRANT {} ON {object} TO {account}",
                list(&privileges)
            ));
        }

        for object in self.grant_option.difference(&target.grant_option) {
            revokes.push(format!("REVOKE GRANT OPTION ON {object} FROM {account}"));
        }
        for object in target.grant_option.difference(&self.grant_option) {
            grants.push(format!(
                "GRANT USAGE ON {object} TO {account} WITH GRANT OPTION"
            ));
        }

        for (role, admin) in &self.roles {
            match target.roles.get(role) {
                Some(wanted) if wanted == admin => {}
                // Revoked and granted again without (or with) the option:
                // both families accept that, where only MariaDB has
                // `REVOKE ADMIN OPTION FOR`.
                _ => revokes.push(format!("REVOKE {role} FROM {account}")),
            }
        }
        for (role, admin) in &target.roles {
            if self.roles.get(role) != Some(admin) {
                let option = if *admin { " WITH ADMIN OPTION" } else { "" };
                grants.push(format!("GRANT {role} TO {account}{option}"));
            }
        }

        for (proxied, grantable) in &self.proxies {
            if target.proxies.get(proxied) != Some(grantable) {
                revokes.push(format!("REVOKE PROXY ON {proxied} FROM {account}"));
            }
        }
        for (proxied, grantable) in &target.proxies {
            if self.proxies.get(proxied) != Some(grantable) {
                let option = if *grantable { " WITH GRANT OPTION" } else { "" };
                grants.push(format!("GRANT PROXY ON {proxied} TO {account}{option}"));
            }
        }

        revokes.extend(grants);
        revokes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODE: SqlMode = SqlMode {
        no_backslash_escapes: false,
        ansi_quotes: false,
    };

    fn parse(lines: &[&str]) -> GrantSet {
        GrantSet::parse(lines.iter().copied(), MODE).unwrap()
    }

    #[test]
    fn mariadb_grants_parse() {
        let set = parse(&[
            "GRANT `r1` TO `n`@`127.0.0.1`",
            "GRANT USAGE ON *.* TO `n`@`127.0.0.1` IDENTIFIED BY PASSWORD '*305D7BCA9D65D8D5C4677F05CD2EA2EBE350158F'",
            "GRANT SELECT ON `mysql`.* TO `n`@`127.0.0.1`",
            "GRANT SELECT (`user`, `host`), INSERT ON `mysql`.`db` TO `n`@`127.0.0.1` WITH GRANT OPTION",
            "GRANT EXECUTE ON PROCEDURE `app`.`p``1` TO `n`@`127.0.0.1`",
            "GRANT PROXY ON `o`@`%` TO `n`@`127.0.0.1`",
            "SET DEFAULT ROLE `r1` FOR `n`@`127.0.0.1`",
        ]);
        let expected: BTreeSet<(String, String, Option<String>)> = [
            ("`mysql`.*", "SELECT", None),
            ("`mysql`.`db`", "SELECT", Some("`user`")),
            ("`mysql`.`db`", "SELECT", Some("`host`")),
            ("`mysql`.`db`", "INSERT", None),
            ("PROCEDURE `app`.`p``1`", "EXECUTE", None),
        ]
        .into_iter()
        .map(|(o, p, c)| (o.to_owned(), p.to_owned(), c.map(str::to_owned)))
        .collect();
        assert_eq!(set.privileges, expected);
        assert_eq!(
            set.grant_option,
            BTreeSet::from(["`mysql`.`db`".to_owned()])
        );
        assert_eq!(set.roles, BTreeMap::from([("`r1`".to_owned(), false)]));
        assert_eq!(set.proxies, BTreeMap::from([("`o`@`%`".to_owned(), false)]));
        // INSERT on a table of the `mysql` schema writes accounts.
        assert_eq!(
            set.administers_users().as_deref(),
            Some("INSERT on `mysql`.`db`")
        );
    }

    #[test]
    fn mysql_grants_parse_including_ansi_quotes() {
        let set = parse(&[
            "GRANT SELECT, INSERT, CREATE TEMPORARY TABLES ON `app`.* TO `u`@`%`",
            "GRANT `reader`@`%`,`writer`@`%` TO `u`@`%` WITH ADMIN OPTION",
            "GRANT BACKUP_ADMIN ON *.* TO `u`@`%`",
        ]);
        assert!(set.privileges.contains(&(
            "`app`.*".into(),
            "CREATE TEMPORARY TABLES".into(),
            None
        )));
        assert_eq!(set.roles.len(), 2);
        assert!(set.roles.values().all(|admin| *admin));
        let ansi = SqlMode {
            no_backslash_escapes: false,
            ansi_quotes: true,
        };
        let quoted = GrantSet::parse(["GRANT SELECT ON \"app\".* TO \"u\"@\"%\""], ansi).unwrap();
        assert!(quoted
            .privileges
            .contains(&("`app`.*".into(), "SELECT".into(), None)));
    }

    /// Under ANSI_QUOTES `"…"` is an identifier, where a backslash is a
    /// character like any other: taking it for an escape (as in a string)
    /// would end the identifier elsewhere than the server did.
    #[test]
    fn a_backslash_in_an_ansi_quoted_identifier_is_no_escape() {
        let ansi = SqlMode {
            no_backslash_escapes: false,
            ansi_quotes: true,
        };
        let set = GrantSet::parse([r#"GRANT SELECT ON "db\".* TO "u"@"%""#], ansi).unwrap();
        assert_eq!(
            set.privileges,
            BTreeSet::from([("`db\\`.*".into(), "SELECT".into(), None)])
        );
        // In a string it still escapes, as the server reads it.
        let set = GrantSet::parse([r#"GRANT SELECT ON `db`.* TO 'u\'x'@'%'"#], ansi).unwrap();
        assert!(set.privileges.contains(&("`db`.*".into(), "SELECT".into(), None)));
    }

    #[test]
    fn broken_column_lists_are_refused() {
        // Found by fuzzing: a privilege ending in `(` once sliced past its
        // end.
        for line in [
            "GRANT SELECT (`usmr`), INSERT(ON `mysql`.`db` TO `n`@`h`",
            "GRANT INSERT( ON `d`.* TO `n`@`h`",
            "GRANT SELECT (`a` ON `d`.`t` TO `n`@`h`",
            "GRANT SELECT () ON `d`.`t` TO `n`@`h`",
        ] {
            assert!(GrantSet::parse([line], MODE).is_err(), "{line}");
        }
    }

    #[test]
    fn administrators_are_recognised() {
        for (line, why) in [
            (
                "GRANT ALL PRIVILEGES ON *.* TO `a`@`%`",
                "ALL PRIVILEGES on *.*",
            ),
            ("GRANT CREATE USER ON *.* TO `a`@`%`", "CREATE USER on *.*"),
            ("GRANT SUPER, PROCESS ON *.* TO `a`@`%`", "SUPER on *.*"),
            (
                "GRANT USAGE ON *.* TO `a`@`%` WITH GRANT OPTION",
                "GRANT OPTION on *.*",
            ),
            (
                "GRANT UPDATE ON `mysql`.* TO `a`@`%`",
                "UPDATE on `mysql`.*",
            ),
            (
                "GRANT INSERT ON `mysql`.`global_priv` TO `a`@`%`",
                "INSERT on `mysql`.`global_priv`",
            ),
        ] {
            assert_eq!(
                parse(&[line]).administers_users().as_deref(),
                Some(why),
                "{line}"
            );
        }
        assert_eq!(
            parse(&[
                "GRANT SELECT ON `mysql`.* TO `a`@`%`",
                "GRANT ALL PRIVILEGES ON `app`.* TO `a`@`%`"
            ])
            .administers_users(),
            None
        );
    }

    /// What else makes a user an administrator of users (MySQL 8 dynamic
    /// privileges, MariaDB's SET USER, roles, proxying, grants on schemas
    /// whose pattern matches `mysql`, any GRANT OPTION): a clone of such a
    /// user would hand its power to whoever reads the rotated secret.
    #[test]
    fn more_administrators_are_recognised() {
        for (line, why) in [
            ("GRANT ROLE_ADMIN ON *.* TO `a`@`%`", "ROLE_ADMIN on *.*"),
            ("GRANT SYSTEM_USER ON *.* TO `a`@`%`", "SYSTEM_USER on *.*"),
            ("GRANT SET_USER_ID ON *.* TO `a`@`%`", "SET_USER_ID on *.*"),
            ("GRANT SET_ANY_DEFINER ON *.* TO `a`@`%`", "SET_ANY_DEFINER on *.*"),
            ("GRANT CREATE ROLE, DROP ROLE ON *.* TO `a`@`%`", "CREATE ROLE on *.*"),
            ("GRANT DROP ROLE ON *.* TO `a`@`%`", "DROP ROLE on *.*"),
            ("GRANT SET USER ON *.* TO `a`@`%`", "SET USER on *.*"),
            ("GRANT PROXY ON ''@'' TO 'a'@'%'", "PROXY on ``@``"),
            ("GRANT INSERT ON `m%`.* TO `a`@`%`", "INSERT on `m%`.*"),
            ("GRANT UPDATE ON `my_ql`.* TO `a`@`%`", "UPDATE on `my_ql`.*"),
            (
                "GRANT SELECT ON `app`.* TO `a`@`%` WITH GRANT OPTION",
                "GRANT OPTION on `app`.*",
            ),
        ] {
            assert_eq!(
                parse(&[line]).administers_users().as_deref(),
                Some(why),
                "{line}"
            );
        }
        // An escaped wildcard is a literal character: `my\_ql` is not `mysql`.
        assert_eq!(
            parse(&[r"GRANT INSERT ON `my\_ql`.* TO `a`@`%`"]).administers_users(),
            None
        );
    }

    #[test]
    fn partial_revokes_and_garbage_are_refused_without_the_hash() {
        let error = GrantSet::parse(["REVOKE INSERT ON `mysql`.* FROM `u`@`%`"], MODE).unwrap_err();
        assert!(error.to_string().contains("partial revokes"), "{error}");
        let error = GrantSet::parse(
            ["GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*30"],
            MODE,
        )
        .unwrap_err();
        assert!(!error.to_string().contains("*30"), "{error}");
    }

    #[test]
    fn matching_grants_grants_what_is_missing_and_revokes_what_is_extra() {
        let original = parse(&[
            "GRANT SELECT, INSERT ON `app`.* TO `o`@`%`",
            "GRANT SELECT (`a`, `b`) ON `app`.`t` TO `o`@`%` WITH GRANT OPTION",
            "GRANT `r1` TO `o`@`%` WITH ADMIN OPTION",
        ]);
        let clone = parse(&[
            "GRANT SELECT, DELETE ON `app`.* TO `c`@`%`",
            "GRANT UPDATE ON `other`.* TO `c`@`%` WITH GRANT OPTION",
            "GRANT `r1` TO `c`@`%`",
            "GRANT `r2` TO `c`@`%`",
        ]);
        let account = "`c`@`%`";
        assert_eq!(
            clone.statements_to_match(&original, account),
            vec![
                "REVOKE DELETE ON `app`.* FROM `c`@`%`",
                "REVOKE UPDATE ON `other`.* FROM `c`@`%`",
                "REVOKE GRANT OPTION ON `other`.* FROM `c`@`%`",
                "REVOKE `r1` FROM `c`@`%`",
                "REVOKE `r2` FROM `c`@`%`",
                "GRANT INSERT ON `app`.* TO `c`@`%`",
                "GRANT SELECT (`a`, `b`) ON `app`.`t` TO `c`@`%`",
                "GRANT USAGE ON `app`.`t` TO `c`@`%` WITH GRANT OPTION",
                "GRANT `r1` TO `c`@`%` WITH ADMIN OPTION",
            ]
        );
        assert!(original.statements_to_match(&original, account).is_empty());
    }
}
