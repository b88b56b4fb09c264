//! moto's Secrets Manager with the part moto cannot play here: on
//! `RotateSecret`, the service stages the placeholder and invokes the
//! rotation function. moto would invoke a Lambda function (which needs
//! Docker); this stand-in stages the placeholder through moto, answers as
//! the service does, and runs the test's own "function" in this process.
//! Every other request goes to moto unchanged.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use rotation_core::store::AwsSecretStore;
use rotation_core::store::SecretStore;
use rotation_core::testkit::{new_token, SecretAdmin};
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::http::{exchange, read_message, response, Message};
use crate::moto::MotoServer;

/// The function the service invokes: given the secret's ARN and the
/// rotation's token, it runs the rotation (or, to test failures, does not).
pub type Function =
    Arc<dyn Fn(String, String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A running stand-in; stops when dropped.
pub struct RotatingService {
    port: u16,
    rotations: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl RotatingService {
    /// Serves in front of `moto`, invoking `function` for each rotation.
    pub async fn start(moto: &MotoServer, function: Function) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the stand-in");
        let port = listener.local_addr().unwrap().port();
        let rotations = Arc::new(Mutex::new(Vec::new()));
        let upstream = moto.port();
        let admin = AwsSecretStore::from_client(moto.client());
        let task = tokio::spawn({
            let rotations = Arc::clone(&rotations);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let service = Service {
                        upstream,
                        admin: admin.clone(),
                        function: Arc::clone(&function),
                        rotations: Arc::clone(&rotations),
                    };
                    tokio::spawn(service.serve(client));
                }
            }
        });
        Self {
            port,
            rotations,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `SecretId` of every `RotateSecret` received, in order.
    pub fn rotations_requested(&self) -> Vec<String> {
        self.rotations.lock().unwrap().clone()
    }
}

impl Drop for RotatingService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Service {
    upstream: u16,
    admin: AwsSecretStore,
    function: Function,
    rotations: Arc<Mutex<Vec<String>>>,
}

fn json_answer(status: &str, body: &Value) -> Vec<u8> {
    response(
        status,
        &[("content-type", "application/x-amz-json-1.1".into())],
        body.to_string().as_bytes(),
    )
}

impl Service {
    async fn serve(self, client: TcpStream) {
        let mut client = BufReader::new(client);
        while let Some(request) = read_message(&mut client).await {
            let answer = if request.header("x-amz-target") == Some("secretsmanager.RotateSecret") {
                self.rotate(&request).await
            } else {
                match exchange(&request, self.upstream).await {
                    Some(answer) => answer.to_bytes(),
                    None => return,
                }
            };
            if client.get_mut().write_all(&answer).await.is_err() {
                return;
            }
        }
    }

    async fn rotate(&self, request: &Message) -> Vec<u8> {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let secret_id = body["SecretId"].as_str().unwrap_or_default().to_owned();
        let token = body["ClientRequestToken"]
            .as_str()
            .map_or_else(new_token, str::to_owned);
        self.rotations.lock().unwrap().push(secret_id.clone());
        if let Err(error) = self.admin.start_rotation(&secret_id, &token).await {
            return json_answer(
                "400 Bad Request",
                &json!({"__type": "InvalidRequestException", "message": error.to_string()}),
            );
        }
        let arn = match self.admin.describe(&secret_id).await {
            Ok(described) => described.arn,
            Err(error) => {
                return json_answer(
                    "400 Bad Request",
                    &json!({"__type": "ResourceNotFoundException", "message": error.to_string()}),
                )
            }
        };
        tokio::spawn((self.function)(arn.clone(), token.clone()));
        json_answer(
            "200 OK",
            &json!({"ARN": arn, "Name": secret_id, "VersionId": token}),
        )
    }
}
