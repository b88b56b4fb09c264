//! The event Secrets Manager sends to a rotation function.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// The invocation event is malformed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EventError {
    /// The event is not a JSON object.
    #[error("the event is not a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("the event has no `{field}` field")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A field is not a string, or is empty.
    #[error("the event's `{field}` must be a non-empty string")]
    InvalidField {
        /// The field's name.
        field: &'static str,
    },
    /// `Step` names no rotation step.
    #[error("unknown step `{step}`: expected createSecret, setSecret, testSecret or finishSecret")]
    UnknownStep {
        /// The step as received (truncated to 64 characters).
        step: String,
    },
}

/// One of the four rotation steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Store a new value under the token, staged AWSPENDING.
    CreateSecret,
    /// Make the backend accept the pending value.
    SetSecret,
    /// Prove the pending value works.
    TestSecret,
    /// Move AWSCURRENT to the token.
    FinishSecret,
}

impl Step {
    /// All steps, in the order Secrets Manager runs them.
    pub const ALL: [Step; 4] = [
        Step::CreateSecret,
        Step::SetSecret,
        Step::TestSecret,
        Step::FinishSecret,
    ];

    /// The step's name as it appears in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::CreateSecret => "createSecret",
            Step::SetSecret => "setSecret",
            Step::TestSecret => "testSecret",
            Step::FinishSecret => "finishSecret",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Step {
    type Err = EventError;

    /// Accepts the camelCase names real events carry, and the snake_case
    /// spelling some AWS prose shows.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "createSecret" | "create_secret" => Ok(Step::CreateSecret),
            "setSecret" | "set_secret" => Ok(Step::SetSecret),
            "testSecret" | "test_secret" => Ok(Step::TestSecret),
            "finishSecret" | "finish_secret" => Ok(Step::FinishSecret),
            other => Err(EventError::UnknownStep {
                step: other.chars().take(64).collect(),
            }),
        }
    }
}

/// A rotation invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEvent {
    /// The step to run.
    pub step: Step,
    /// The secret's ARN (or name).
    pub secret_id: String,
    /// The version being rotated in.
    pub token: String,
    /// Present in newer events; must be passed to `PutSecretValue` when the
    /// rotation runs through an assumed role or cross-account.
    pub rotation_token: Option<String>,
}

impl RotationEvent {
    /// Parses the event's JSON. Unknown fields are ignored, as the service
    /// may add more.
    pub fn from_json(event: &Value) -> Result<Self, EventError> {
        let object = event.as_object().ok_or(EventError::NotAnObject)?;
        let required = |field: &'static str| -> Result<String, EventError> {
            match object.get(field) {
                None | Some(Value::Null) => Err(EventError::MissingField { field }),
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(_) => Err(EventError::InvalidField { field }),
            }
        };
        let step = required("Step")?.parse()?;
        let secret_id = required("SecretId")?;
        let token = required("ClientRequestToken")?;
        let rotation_token = match object.get("RotationToken") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => {
                return Err(EventError::InvalidField {
                    field: "RotationToken",
                })
            }
        };
        Ok(Self {
            step,
            secret_id,
            token,
            rotation_token,
        })
    }

    /// The event as Secrets Manager sends it.
    pub fn to_json(&self) -> Value {
        let mut event = serde_json::json!({
            "Step": self.step.as_str(),
            "SecretId": self.secret_id,
            "ClientRequestToken": self.token,
        });
        if let Some(rotation_token) = &self.rotation_token {
            event["RotationToken"] = Value::String(rotation_token.clone());
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_real_event_with_and_without_rotation_token() {
        let event = json!({
            "Step": "setSecret",
            "SecretId": "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf",
            "ClientRequestToken": "3b1c2c5e-1f5d-4d7e-9a1b-0c2d3e4f5a6b",
            "RotationToken": "rt-1"
        });
        let parsed = RotationEvent::from_json(&event).unwrap();
        assert_eq!(parsed.step, Step::SetSecret);
        assert_eq!(parsed.rotation_token.as_deref(), Some("rt-1"));
        assert_eq!(RotationEvent::from_json(&parsed.to_json()).unwrap(), parsed);

        let mut without = event.clone();
        without.as_object_mut().unwrap().remove("RotationToken");
        assert_eq!(
            RotationEvent::from_json(&without).unwrap().rotation_token,
            None
        );
    }

    #[test]
    fn snake_case_steps_are_accepted() {
        assert_eq!("finish_secret".parse::<Step>().unwrap(), Step::FinishSecret);
    }

    #[test]
    fn malformed_events_name_the_problem() {
        let cases = [
            (json!([]), "the event is not a JSON object"),
            (
                json!({"SecretId": "s", "ClientRequestToken": "t"}),
                "the event has no `Step` field",
            ),
            (
                json!({"Step": "rotateAll", "SecretId": "s", "ClientRequestToken": "t"}),
                "unknown step `rotateAll`: expected createSecret, setSecret, testSecret or finishSecret",
            ),
            (
                json!({"Step": "setSecret", "SecretId": 7, "ClientRequestToken": "t"}),
                "the event's `SecretId` must be a non-empty string",
            ),
            (
                json!({"Step": "setSecret", "SecretId": "s", "ClientRequestToken": ""}),
                "the event's `ClientRequestToken` must be a non-empty string",
            ),
            (
                json!({"Step": "setSecret", "SecretId": "s", "ClientRequestToken": "t", "RotationToken": 1}),
                "the event's `RotationToken` must be a non-empty string",
            ),
        ];
        for (event, message) in cases {
            assert_eq!(
                RotationEvent::from_json(&event).unwrap_err().to_string(),
                message
            );
        }
    }
}
