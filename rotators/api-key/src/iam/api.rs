//! The IAM calls the provider makes, typed, over `rotation_core`'s Query
//! client: IAM's SDK crate holds every IAM operation and took minutes of
//! every build for these eight.

use aws_config::SdkConfig;
use aws_smithy_types::date_time::{DateTime, Format};
use rotation_core::aws_query::{Element, QueryClient, QueryError, IAM};
use rotation_core::SecretString;

/// IAM, with the credentials, region and endpoint settings of an SDK
/// configuration (`AWS_ENDPOINT_URL_IAM`).
#[derive(Debug, Clone)]
pub struct IamApi {
    client: QueryClient,
}

/// An access key as `ListAccessKeys` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// The access key id.
    pub id: String,
    /// `Status` is `Active`.
    pub active: bool,
    /// `CreateDate`, as seconds and nanoseconds since the epoch; the
    /// earliest possible when IAM gave none or one that does not parse.
    pub created: (i64, u32),
}

/// A key `CreateAccessKey` made.
#[derive(Debug)]
pub struct NewKey {
    /// The access key id.
    pub id: String,
    /// The secret access key.
    pub secret: SecretString,
}

impl IamApi {
    /// IAM under `config`.
    pub fn new(config: &SdkConfig) -> Result<Self, QueryError> {
        QueryClient::new(config, &IAM).map(|client| Self { client })
    }

    /// The Query client, for calls this type does not wrap (tests make
    /// users with it).
    pub fn client(&self) -> &QueryClient {
        &self.client
    }

    async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<Element, QueryError> {
        self.client.call(action, params).await
    }

    /// `GetUser`: the user's ARN (empty if IAM gave none).
    pub async fn user_arn(&self, user: &str) -> Result<String, QueryError> {
        let answer = self.call("GetUser", &[("UserName", user)]).await?;
        Ok(answer
            .text_at(&["GetUserResult", "User", "Arn"])
            .unwrap_or_default()
            .to_owned())
    }

    /// `TagUser` with one tag.
    pub async fn tag_user(&self, user: &str, key: &str, value: &str) -> Result<(), QueryError> {
        let params = [
            ("UserName", user),
            ("Tags.member.1.Key", key),
            ("Tags.member.1.Value", value),
        ];
        self.call("TagUser", &params).await.map(drop)
    }

    /// `UntagUser` of one tag key.
    pub async fn untag_user(&self, user: &str, key: &str) -> Result<(), QueryError> {
        let params = [("UserName", user), ("TagKeys.member.1", key)];
        self.call("UntagUser", &params).await.map(drop)
    }

    /// `ListUserTags`: every tag, as (key, value). A user holds at most 50
    /// tags, within one page of 100.
    pub async fn user_tags(&self, user: &str) -> Result<Vec<(String, String)>, QueryError> {
        let answer = self.call("ListUserTags", &[("UserName", user)]).await?;
        Ok(answer
            .at(&["ListUserTagsResult", "Tags"])
            .map(|tags| {
                tags.children
                    .iter()
                    .map(|tag| {
                        let text = |name| tag.text_at(&[name]).unwrap_or_default().to_owned();
                        (text("Key"), text("Value"))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `ListAccessKeys`: the user's keys (at most two: one page).
    pub async fn access_keys(&self, user: &str) -> Result<Vec<AccessKey>, QueryError> {
        let answer = self.call("ListAccessKeys", &[("UserName", user)]).await?;
        Ok(answer
            .at(&["ListAccessKeysResult", "AccessKeyMetadata"])
            .map(|keys| keys.children.iter().map(access_key).collect())
            .unwrap_or_default())
    }

    /// `UpdateAccessKey` to `Inactive`.
    pub async fn deactivate(&self, user: &str, key_id: &str) -> Result<(), QueryError> {
        let params = [
            ("UserName", user),
            ("AccessKeyId", key_id),
            ("Status", "Inactive"),
        ];
        self.call("UpdateAccessKey", &params).await.map(drop)
    }

    /// `DeleteAccessKey`.
    pub async fn delete_access_key(&self, user: &str, key_id: &str) -> Result<(), QueryError> {
        let params = [("UserName", user), ("AccessKeyId", key_id)];
        self.call("DeleteAccessKey", &params).await.map(drop)
    }

    /// `CreateAccessKey`. The answer's secret goes straight into a
    /// [`SecretString`].
    pub async fn create_access_key(&self, user: &str) -> Result<NewKey, QueryError> {
        let answer = self.call("CreateAccessKey", &[("UserName", user)]).await?;
        let key = answer.at(&["CreateAccessKeyResult", "AccessKey"]);
        let field = |name| {
            key.and_then(|k| k.text_at(&[name]))
                .filter(|t| !t.is_empty())
        };
        match (field("AccessKeyId"), field("SecretAccessKey")) {
            (Some(id), Some(secret)) => Ok(NewKey {
                id: id.to_owned(),
                secret: SecretString::new(secret),
            }),
            _ => Err(QueryError::Answer {
                service: IAM.name,
                action: "CreateAccessKey".into(),
                reason: "no access key id or secret access key".into(),
            }),
        }
    }
}

fn access_key(member: &Element) -> AccessKey {
    let created = member
        .text_at(&["CreateDate"])
        .and_then(|date| DateTime::from_str(date, Format::DateTime).ok())
        .map_or((i64::MIN, 0), |d| (d.secs(), d.subsec_nanos()));
    AccessKey {
        id: member
            .text_at(&["AccessKeyId"])
            .unwrap_or_default()
            .to_owned(),
        active: member.text_at(&["Status"]) == Some("Active"),
        created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_keys_read_their_status_and_creation_time() {
        let answer = rotation_core::aws_query::xml::parse(
            "<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata>\
             <member><UserName>u</UserName><AccessKeyId>AKIA1</AccessKeyId><Status>Active</Status>\
             <CreateDate>2026-12-07T05:00:01Z</CreateDate></member>\
             <member><AccessKeyId>AKIA2</AccessKeyId><Status>Inactive</Status>\
             <CreateDate>2026-12-07T05:00:01.250Z</CreateDate></member>\
             <member><AccessKeyId>AKIA3</AccessKeyId><Status>Active</Status></member>\
             </AccessKeyMetadata></ListAccessKeysResult></ListAccessKeysResponse>",
        )
        .unwrap();
        let keys: Vec<AccessKey> = answer
            .at(&["ListAccessKeysResult", "AccessKeyMetadata"])
            .unwrap()
            .children
            .iter()
            .map(access_key)
            .collect();
        let base = 1_796_619_601;
        assert_eq!(
            keys,
            [
                AccessKey {
                    id: "AKIA1".into(),
                    active: true,
                    created: (base, 0)
                },
                AccessKey {
                    id: "AKIA2".into(),
                    active: false,
                    created: (base, 250_000_000)
                },
                AccessKey {
                    id: "AKIA3".into(),
                    active: true,
                    created: (i64::MIN, 0)
                },
            ]
        );
        assert!(keys[1].created > keys[0].created);
    }
}
