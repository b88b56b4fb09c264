//! Captured logs and the leak check every test can make in one line.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};

use aho_corasick::AhoCorasick;

use tracing::instrument::WithSubscriber;
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use crate::secret::SecretString;

/// A buffer that collects everything logged while a future runs, and
/// apart, what tasks it spawned logged.
#[derive(Clone, Default)]
pub struct CapturedLogs {
    own: Arc<Mutex<Vec<u8>>>,
    spawned: Arc<Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `future` with every `tracing` event, at TRACE and above, written
    /// here as JSON lines (the format Lambda's JSON logging uses): the
    /// most an operator can turn on, so a rotator that leaks only at TRACE
    /// is caught. The function's caps on the SDK, HTTP and driver crates
    /// apply here as in the function ([`crate::logging::allowed`]).
    ///
    /// A task the future spawns does not inherit its subscriber: its events
    /// go to the process's global one, which the first capture installs
    /// and which copies them into the spawned-task buffer of every capture
    /// running at the time ([`text_with_spawned`](Self::text_with_spawned)).
    /// A parallel test's stray lines may land there too, which a leak
    /// check, looking only for this test's secrets, does not mind, and
    /// which [`text`](Self::text) never holds.
    pub async fn capture<F: Future>(&self, future: F) -> F::Output {
        spill::install();
        let _spilling = spill::register(self);
        future
            .with_subscriber(collector(self.clone(), || true))
            .await
    }

    /// Everything the futures logged so far (not their spawned tasks).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.own.lock().unwrap()).into_owned()
    }

    /// [`text`](Self::text), then every line logged outside a capture while
    /// this one ran (the futures' spawned tasks, and any other test's): what
    /// a leak check reads.
    pub fn text_with_spawned(&self) -> String {
        let mut text = self.text();
        text.push_str(&String::from_utf8_lossy(&self.spawned.lock().unwrap()));
        text
    }
}

/// The subscriber a capture runs its future with: JSON lines into
/// `writer`, at TRACE, under the function's caps, while `when` holds.
fn collector<W, C>(writer: W, when: C) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    C: Fn() -> bool + Send + Sync + 'static,
{
    let caps = filter_fn(move |metadata| {
        when() && crate::logging::allowed(metadata.target(), metadata.level())
    });
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .with_filter(LevelFilter::TRACE)
        .with_filter(caps);
    tracing_subscriber::registry().with(layer)
}

/// The global subscriber for events outside any capture's future (tasks
/// it spawned), and the buffers it copies them to.
mod spill {
    use std::io::Write;
    use std::sync::{Arc, Mutex, Once, Weak};

    use tracing_subscriber::fmt::MakeWriter;

    use super::CapturedLogs;

    type Buffer = Arc<Mutex<Vec<u8>>>;

    static CAPTURING: Mutex<Vec<Weak<Mutex<Vec<u8>>>>> = Mutex::new(Vec::new());

    /// Installs the global subscriber, once per process. A process that
    /// set its own first keeps it, and is told what the kit then misses.
    pub(super) fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            // Formats nothing while no capture runs.
            let capturing = || !CAPTURING.lock().unwrap().is_empty();
            if tracing::subscriber::set_global_default(super::collector(Spill, capturing)).is_err()
            {
                eprintln!(
                    "testkit: a global tracing subscriber was already set; \
                     events from spawned tasks are not captured"
                );
            }
        });
    }

    /// Copies spilled events into `logs`' spawned-task buffer until the
    /// guard drops.
    pub(super) fn register(logs: &CapturedLogs) -> Registered {
        let buffer = Arc::clone(&logs.spawned);
        CAPTURING.lock().unwrap().push(Arc::downgrade(&buffer));
        Registered(buffer)
    }

    pub(super) struct Registered(Buffer);

    impl Drop for Registered {
        fn drop(&mut self) {
            // One entry per registration: the same buffer may capture
            // several steps at once.
            let mut capturing = CAPTURING.lock().unwrap();
            if let Some(at) = capturing
                .iter()
                .position(|weak| weak.upgrade().is_some_and(|b| Arc::ptr_eq(&b, &self.0)))
            {
                capturing.swap_remove(at);
            }
            capturing.retain(|weak| weak.strong_count() > 0);
        }
    }

    /// Writes each event line to every buffer capturing now.
    #[derive(Clone, Copy)]
    struct Spill;

    impl Write for Spill {
        fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
            for buffer in CAPTURING.lock().unwrap().iter().filter_map(Weak::upgrade) {
                buffer.lock().unwrap().extend_from_slice(line);
            }
            Ok(line.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Spill {
        type Writer = Spill;

        fn make_writer(&'a self) -> Spill {
            Spill
        }
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.own.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Panics, naming `what` and the secret's length (never its value), if any
/// of `secrets` occurs in `text`. Also checks the JSON-escaped form, since
/// log lines and error JSON escape quotes and backslashes.
pub fn assert_no_secret_in(what: &str, text: &str, secrets: &[SecretString]) {
    // Very short strings occur by chance; the kit's secrets are long.
    let mut patterns = Vec::with_capacity(secrets.len() * 2);
    for secret in secrets.iter().map(SecretString::expose) {
        if secret.len() < 8 {
            continue;
        }
        let escaped = serde_json::to_string(secret).unwrap_or_default();
        patterns.push(secret.to_owned());
        patterns.push(escaped.trim_matches('"').to_owned());
    }
    // One pass over the text for every value at once: the kit's logs run
    // to megabytes and its secrets to hundreds, and a search per secret
    // took most of a conformance run in the unoptimised test build.
    let searcher = AhoCorasick::new(&patterns).expect("a searcher for the secret values");
    if let Some(found) = searcher.find(text) {
        panic!(
            "{what} contains a secret value ({} bytes)",
            patterns[found.pattern().as_usize()].len()
        );
    }
}

/// Runs rotation steps with their logs captured and their errors kept, so
/// a test can check, in one call, that no secret reached either.
#[derive(Default)]
pub struct StepRecorder {
    logs: CapturedLogs,
    errors: std::sync::Mutex<Vec<String>>,
}

impl StepRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `event`'s step (no deadline), recording its logs and, if it
    /// fails, its error chain and `Debug` print.
    pub async fn run<S, R>(
        &self,
        rotation: &crate::engine::Rotation<S, R>,
        event: &crate::event::RotationEvent,
    ) -> Result<crate::engine::StepOutcome, crate::error::RotationError>
    where
        S: crate::store::SecretStore,
        R: crate::Rotator,
    {
        self.run_within(rotation, event, None).await
    }

    /// [`run`](Self::run) with the invocation's deadline.
    pub async fn run_within<S, R>(
        &self,
        rotation: &crate::engine::Rotation<S, R>,
        event: &crate::event::RotationEvent,
        deadline: Option<std::time::Instant>,
    ) -> Result<crate::engine::StepOutcome, crate::error::RotationError>
    where
        S: crate::store::SecretStore,
        R: crate::Rotator,
    {
        let result = self.logs.capture(rotation.run_step(event, deadline)).await;
        if let Err(e) = &result {
            self.errors
                .lock()
                .unwrap()
                .push(format!("{} {e:?}", crate::error::error_chain(e)));
        }
        result
    }

    /// The captured logs so far (JSON lines).
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// The recorded errors so far, one per line.
    pub fn errors(&self) -> String {
        self.errors.lock().unwrap().join("\n")
    }

    /// Panics if any of `secrets` occurs in the logs or errors; also if
    /// there is nothing to check (no secrets, or no step logged anything).
    pub fn assert_no_leaks(&self, secrets: &[SecretString]) {
        assert!(
            !secrets.is_empty(),
            "the leak check has no secrets to look for"
        );
        assert!(!self.logs().is_empty(), "the steps logged nothing");
        let logs = self.logs.text_with_spawned();
        assert_no_secret_in("the captured logs", &logs, secrets);
        assert_no_secret_in("the step errors", &self.errors(), secrets);
    }
}
