//! What a client asked, read from the request line: AWS's agent's routes
//! (`/secretsmanager/get?secretId=…` and `/v1/{secretId}`), its health
//! check, and the agent's own route for a refused credential. Every
//! refusal names the parameter and why, never a value.

use secret_cache::VersionSelector;

/// The longest request target read; a secret's ARN is at most 2048
/// characters, so this leaves room for every parameter encoded.
pub const MAX_TARGET: usize = 8 * 1024;

/// The path prefix of AWS's agent's path route.
pub const PATH_PREFIX: &str = "/v1/";

/// A request the agent answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /ping`: the agent is up (no token needed).
    Ping,
    /// A `GetSecretValue`, from the cache.
    Get(GetRequest),
    /// `GET /secretsmanager/after-refusal?secretId=…&versionId=…`: the
    /// backend refused the credential of version `versionId`; which value
    /// should the client try next?
    AfterRefusal {
        /// The secret's name or ARN.
        secret_id: String,
        /// The version whose value was refused.
        refused_version: String,
    },
}

/// The parameters of `GetSecretValue` the agent takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRequest {
    /// The secret's name or ARN.
    pub secret_id: String,
    /// A version id, if one was asked for.
    pub version_id: Option<String>,
    /// A label, if one was asked for (AWSCURRENT when neither is).
    pub version_stage: Option<String>,
    /// Read from Secrets Manager whatever is cached.
    pub refresh_now: bool,
}

impl GetRequest {
    /// The version to read.
    pub fn selector(&self) -> VersionSelector<'_> {
        match (&self.version_id, &self.version_stage) {
            (Some(id), Some(stage)) => VersionSelector::IdAndStage(id, stage),
            (Some(id), None) => VersionSelector::Id(id),
            (None, Some(stage)) => VersionSelector::Stage(stage),
            (None, None) => VersionSelector::Stage(rotation_core::store::AWSCURRENT),
        }
    }
}

/// A request the agent will not answer: the HTTP status, an error type as
/// Secrets Manager names its own, and a message naming what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The `__type` of the error body.
    pub kind: &'static str,
    /// What is wrong, naming the parameter; never a value.
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameterException", message)
    }
}

/// Reads `method` and `target` (the path and query as sent).
pub fn parse(method: &str, target: &str) -> Result<Route, Refusal> {
    if target.len() > MAX_TARGET {
        return Err(Refusal::new(
            414,
            "InvalidParameterException",
            format!("the request target is longer than {MAX_TARGET} bytes"),
        ));
    }
    if method != "GET" {
        return Err(Refusal::new(
            405,
            "MethodNotAllowed",
            format!("only GET is answered, not {}", printable(method)),
        ));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params = Params::parse(query)?;
    let route = match path {
        "/ping" => Route::Ping,
        "/secretsmanager/get" => {
            let secret_id = params.required("secretId")?;
            Route::Get(get_request(secret_id, &mut params)?)
        }
        "/secretsmanager/after-refusal" => {
            let secret_id = params.required("secretId")?;
            let refused_version = params.required("versionId")?;
            check_length("versionId", &refused_version, 64)?;
            Route::AfterRefusal {
                secret_id,
                refused_version,
            }
        }
        _ => match path.strip_prefix(PATH_PREFIX) {
            Some(encoded) if !encoded.is_empty() => {
                let secret_id = decode("the secret id in the path", encoded)?;
                Route::Get(get_request(secret_id, &mut params)?)
            }
            _ => {
                return Err(Refusal::new(
                    404,
                    "NotFound",
                    "no such route: use /secretsmanager/get?secretId=ID or /v1/ID",
                ))
            }
        },
    };
    params.none_left()?;
    Ok(route)
}

fn get_request(secret_id: String, params: &mut Params) -> Result<GetRequest, Refusal> {
    check_length("secretId", &secret_id, 2048)?;
    let version_id = params.optional("versionId");
    if let Some(id) = &version_id {
        check_length("versionId", id, 64)?;
    }
    let version_stage = params.optional("versionStage");
    if let Some(stage) = &version_stage {
        check_length("versionStage", stage, 256)?;
    }
    let refresh_now = match params.optional("refreshNow") {
        None => false,
        Some(flag) if flag.eq_ignore_ascii_case("true") => true,
        Some(flag) if flag.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(Refusal::invalid("refreshNow must be true or false")),
    };
    Ok(GetRequest {
        secret_id,
        version_id,
        version_stage,
        refresh_now,
    })
}

fn check_length(name: &str, value: &str, max: usize) -> Result<(), Refusal> {
    let length = value.chars().count();
    if length == 0 {
        return Err(Refusal::invalid(format!("{name} is empty")));
    }
    if length > max {
        return Err(Refusal::invalid(format!(
            "{name} is {length} characters long; at most {max} are allowed"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Refusal::invalid(format!(
            "{name} holds a control character"
        )));
    }
    Ok(())
}

/// The query's parameters, each taken once.
struct Params(Vec<(String, Option<String>)>);

impl Params {
    fn parse(query: &str) -> Result<Self, Refusal> {
        let mut params: Vec<(String, Option<String>)> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode("a parameter name", name)?;
            let value = decode(&name, value)?;
            if params.iter().any(|(seen, _)| *seen == name) {
                return Err(Refusal::invalid(format!(
                    "{} is given more than once",
                    printable(&name)
                )));
            }
            params.push((name, Some(value)));
        }
        Ok(Self(params))
    }

    fn optional(&mut self, name: &str) -> Option<String> {
        self.0
            .iter_mut()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.take())
    }

    fn required(&mut self, name: &str) -> Result<String, Refusal> {
        self.optional(name)
            .ok_or_else(|| Refusal::invalid(format!("{name} is required")))
    }

    fn none_left(&self) -> Result<(), Refusal> {
        match self.0.iter().find(|(_, value)| value.is_some()) {
            Some((name, _)) => Err(Refusal::invalid(format!(
                "unknown parameter {}",
                printable(name)
            ))),
            None => Ok(()),
        }
    }
}

/// Percent-decoding as URLs use it. `+` stays a plus: it is a character
/// secret names may hold, and clients encode a space as `%20`.
fn decode(what: &str, encoded: &str) -> Result<String, Refusal> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Refusal::invalid(format!("{what} has a malformed %-escape")))?;
            decoded.push(hex);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded)
        .map_err(|_| Refusal::invalid(format!("{what} is not UTF-8 once decoded")))
}

/// A client's own word (a method, a parameter name) fit to quote: at most
/// 40 characters, control characters escaped.
fn printable(word: &str) -> String {
    let short: String = word.chars().take(40).collect();
    format!("{short:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(target: &str) -> GetRequest {
        match parse("GET", target) {
            Ok(Route::Get(request)) => request,
            other => panic!("{target}: {other:?}"),
        }
    }

    #[test]
    fn aws_agents_documented_requests_are_read() {
        let request = get("/secretsmanager/get?secretId=prod%2Fdb");
        assert_eq!(request.secret_id, "prod/db");
        assert_eq!(request.selector(), VersionSelector::Stage("AWSCURRENT"));
        let request = get("/secretsmanager/get?secretId=db&versionStage=AWSPREVIOUS");
        assert_eq!(request.selector(), VersionSelector::Stage("AWSPREVIOUS"));
        let request = get("/secretsmanager/get?secretId=db&versionId=v1&refreshNow=true");
        assert_eq!(request.selector(), VersionSelector::Id("v1"));
        assert!(request.refresh_now);
        let request = get("/secretsmanager/get?secretId=db&versionId=v1&versionStage=AWSCURRENT");
        assert_eq!(
            request.selector(),
            VersionSelector::IdAndStage("v1", "AWSCURRENT")
        );
        // The path route keeps slashes and decodes %2F; a plus is a plus.
        assert_eq!(get("/v1/prod/db").secret_id, "prod/db");
        assert_eq!(
            get("/v1/prod%2Fdb+1?refreshNow=false").secret_id,
            "prod/db+1"
        );
        assert_eq!(parse("GET", "/ping"), Ok(Route::Ping));
        assert_eq!(
            parse(
                "GET",
                "/secretsmanager/after-refusal?secretId=db&versionId=v1"
            ),
            Ok(Route::AfterRefusal {
                secret_id: "db".into(),
                refused_version: "v1".into()
            })
        );
    }

    /// The bad-input table: each refusal's status and the words that name
    /// what is wrong.
    #[test]
    fn bad_requests_are_refused_naming_what_is_wrong() {
        let long_id = "a".repeat(2049);
        let too_long_target = format!("/secretsmanager/get?secretId={}", "a".repeat(MAX_TARGET));
        let cases: Vec<(&str, String, u16, &str)> = vec![
            (
                "POST",
                "/secretsmanager/get?secretId=db".into(),
                405,
                "only GET",
            ),
            (
                "GET",
                "/secretsmanager/get".into(),
                400,
                "secretId is required",
            ),
            (
                "GET",
                "/secretsmanager/get?secretId=".into(),
                400,
                "secretId is empty",
            ),
            (
                "GET",
                format!("/secretsmanager/get?secretId={long_id}"),
                400,
                "secretId is 2049 characters",
            ),
            ("GET", too_long_target, 414, "longer than 8192"),
            (
                "GET",
                "/secretsmanager/get?secretId=db&secretId=other".into(),
                400,
                "\"secretId\" is given more than once",
            ),
            (
                "GET",
                "/secretsmanager/get?secretId=db&color=red".into(),
                400,
                "unknown parameter \"color\"",
            ),
            (
                "GET",
                "/secretsmanager/get?secretId=db&refreshNow=yes".into(),
                400,
                "refreshNow must be true or false",
            ),
            (
                "GET",
                "/secretsmanager/get?secretId=db%ZZ".into(),
                400,
                "secretId has a malformed %-escape",
            ),
            (
                "GET",
                "/secretsmanager/get?secretId=%FF%FE".into(),
                400,
                "secretId is not UTF-8",
            ),
            (
                "GET",
                "/secretsmanager/get?secretId=db%0A".into(),
                400,
                "secretId holds a control character",
            ),
            (
                "GET",
                format!(
                    "/secretsmanager/get?secretId=db&versionId={}",
                    "v".repeat(65)
                ),
                400,
                "versionId is 65 characters",
            ),
            (
                "GET",
                format!(
                    "/secretsmanager/get?secretId=db&versionStage={}",
                    "S".repeat(257)
                ),
                400,
                "versionStage is 257",
            ),
            (
                "GET",
                "/secretsmanager/after-refusal?secretId=db".into(),
                400,
                "versionId is required",
            ),
            (
                "GET",
                "/secretsmanager/put?secretId=db".into(),
                404,
                "no such route",
            ),
            ("GET", "/v1/".into(), 404, "no such route"),
        ];
        for (method, target, status, words) in cases {
            let refusal = parse(method, &target).expect_err(&target);
            assert_eq!(refusal.status, status, "{target}: {refusal:?}");
            assert!(
                refusal.message.contains(words),
                "{target}: {:?} lacks {words:?}",
                refusal.message
            );
            assert!(refusal.message.len() < 200, "{target}: quotes too much");
        }
    }
}
