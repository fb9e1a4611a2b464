//! `bbb-connector demo`: the service on a throw-away SQLite database plus the built-in BBB
//! simulator, with one connector `demo` open to anonymous callers, and the curl lines of the
//! whole flow printed for a newcomer to paste.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::{json, Value};

use crate::app::{self, AppState};
use crate::config::{Config, ConnectorConfig, LogFormat, ACCESS_ANONYMOUS};
use crate::domain::ids::random_hex;
use crate::simulator::{Simulator, SimulatorConfig};
use crate::telemetry;

const DEMO_IDEMPOTENT_ID: &str = "demo-1";

pub async fn run(listen: &str) -> anyhow::Result<()> {
    telemetry::init(LogFormat::Text);
    let secret = random_hex(16);
    let simulator_addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let simulator =
        Simulator::spawn(SimulatorConfig { secret: secret.clone(), ..SimulatorConfig::default() }, simulator_addr)
            .await
            .context("cannot start the BBB simulator")?;
    let database = DemoDatabase::new();
    let config = demo_config(listen, &database.url(), simulator.base_url().as_str(), &secret)?;
    let state = AppState::build(config).await?;
    let (listener, addr) = app::bind(listen).await?;
    let server = tokio::spawn(app::serve(listener, state, app::shutdown_signal()));
    let base = format!("http://{addr}");
    let meeting = create_demo_meeting(&base).await?;
    print_walkthrough(&base, &simulator, &database.url(), &meeting);
    server.await.context("the server task failed")??;
    Ok(())
}

fn demo_config(listen: &str, database_url: &str, bbb_url: &str, secret: &str) -> anyhow::Result<Config> {
    let mut connector = ConnectorConfig::new(bbb_url, secret)?.with_access(&[ACCESS_ANONYMOUS]);
    connector.title = "Demo".to_owned();
    let config = Config { listen: listen.to_owned(), database_url: database_url.to_owned(), ..Config::default() };
    Ok(config.with_connector("demo", connector).validated()?)
}

/// Asks the running service for the demo rendezvous, as a workflow would.
async fn create_demo_meeting(base: &str) -> anyhow::Result<Value> {
    let answer: Value = reqwest::Client::new()
        .post(format!("{base}/bbb/demo/meeting/"))
        .json(&demo_payload())
        .send()
        .await
        .context("cannot reach the demo service")?
        .json()
        .await
        .context("the demo service answered something else than JSON")?;
    anyhow::ensure!(answer["err"] == 0, "the demo rendezvous could not be created: {answer}");
    Ok(answer["data"].clone())
}

fn demo_payload() -> Value {
    json!({
        "name": "Rendez-vous de démonstration",
        "idempotent_id": DEMO_IDEMPOTENT_ID,
        "user_full_name": "Camille Usager",
        "agent_full_name": "Agent d'accueil",
        "metadata": {"appointment": "demain 10h"},
    })
}

fn print_walkthrough(base: &str, simulator: &Simulator, database_url: &str, meeting: &Value) {
    let field = |name: &str| meeting[name].as_str().unwrap_or_default().to_owned();
    let publish = format!("{}simulator/recordings/publish?meetingID={}", simulator.control_url(), field("guid"));
    let payload = demo_payload().to_string().replace('\'', "'\\''");
    println!(
        "\nbbb-connector demo is running on {base}/ (connector \"demo\", open to anonymous callers)\n\
         BBB simulator: {bbb_url}   database: {database_url}   (Ctrl-C stops both)\n\n\
         1. Create the rendezvous, as a w.c.s. workflow does (idempotent: the same answer every time):\n\
         \x20  curl -s -X POST -H 'Content-Type: application/json' -d '{payload}' {base}/bbb/demo/meeting/\n\n\
         2. Poll is-running, as the citizen's browser does (false: the agent has not started it):\n\
         \x20  curl -s {is_running}\n\n\
         3. Open the agent link (a browser would; this starts the meeting in the simulator):\n\
         \x20  curl -sL {agent}\n\n\
         4. Poll again (true within {cache} s):\n\
         \x20  curl -s {is_running}\n\n\
         5. Open the user link:\n\
         \x20  curl -sL {user}\n\n\
         6. Publish a recording of the meeting, as BBB does once it has processed one (the simulator's\n\
         \x20  control endpoint; BBB then calls the meeting's recording-ready URL, if it has one):\n\
         \x20  curl -s -X POST '{publish}'\n\n\
         7. List the rendezvous' recordings, with their playback links:\n\
         \x20  curl -s {url}recordings/\n\n\
         The meeting object: curl -s {url}\n",
        is_running = field("is_running_url"),
        agent = field("join_agent_url"),
        user = field("join_user_url"),
        url = field("url"),
        bbb_url = simulator.base_url(),
        cache = 3,
    );
}

/// A SQLite file in the temporary directory, removed when the demo stops.
struct DemoDatabase(PathBuf);

impl DemoDatabase {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("bbb-connector-demo-{}.db", std::process::id())))
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for DemoDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}
