//! The `warroom` command. `main` reads as the lifecycle: parse the command line, load
//! and validate the config before anything opens (exit 64 on a bad one), start, wait
//! for SIGINT/SIGTERM, drain within the grace period, exit.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use warroom::app::{self, Options};
use warroom::config::Config;

/// Exit code for a bad config or command line (sysexits EX_USAGE).
const EX_USAGE: u8 = 64;
/// Exit code when the daemon cannot be reached (sysexits EX_UNAVAILABLE).
const EX_UNAVAILABLE: u8 = 69;

#[derive(Parser)]
#[command(
    name = "warroom",
    version,
    about = "Turns Slack, Discord and Telegram into an incident war room",
    long_about = "Turns Slack, Discord and Telegram into an incident war room.\n\n\
        Start it with `warroom run`: with no config file it uses the embedded defaults (data in ./data, \
        HTTP on 127.0.0.1:8080, platforms without a token disabled, no LLM). Point Alertmanager at \
        http://127.0.0.1:8080/webhooks/alertmanager and watch incidents with `warroom incidents list`."
)]
struct Cli {
    /// Log format: human-readable lines, or one JSON object per line for machines.
    /// Filter with RUST_LOG (e.g. RUST_LOG=warroom=debug).
    #[arg(long, value_enum, default_value = "human", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon until SIGINT/SIGTERM.
    Run {
        /// Config file (default: ./config.toml if present, else the embedded defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Override server.listen, e.g. 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Override storage.path.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Validate a config file: exit 0, or print every problem and exit 64.
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Look at incidents of a running daemon (through its HTTP API).
    Incidents {
        #[command(subcommand)]
        command: IncidentsCommand,
    },
    /// Classify a message (or a JSONL corpus) as alert or chatter, without the daemon.
    Classify {
        /// The message text.
        text: Option<String>,
        /// Read lines {"id": …, "text": …} from FILE and write one verdict per line.
        #[arg(long, value_name = "FILE", conflicts_with = "text")]
        jsonl: Option<PathBuf>,
        /// Ask the configured LLM about ambiguous messages (default: heuristics only).
        #[arg(long)]
        llm: bool,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run the whole pipeline in the terminal: type as a user, see what the bot posts.
    Console {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Keep the console's incidents here (default: in memory, gone on exit).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Your name in the console.
        #[arg(long, default_value = "you")]
        user: String,
    },
}

#[derive(Subcommand)]
enum IncidentsCommand {
    /// List incidents, newest first.
    List {
        /// Only this status: open, investigating, mitigated, resolved.
        #[arg(long)]
        status: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show one incident with its timeline.
    Show {
        /// Incident number (42 or #42).
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Daemon URL (default: api.url, else http://<server.listen> from the config).
    #[arg(long)]
    server: Option<String>,
    /// API token (default: api.token from the config).
    #[arg(long, env = "WARROOM_API_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[arg(long, short)]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warroom: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Run { config, listen, data_dir } => run(config, listen, data_dir).await,
            Command::Check { config } => check(config),
            Command::Incidents { command } => incidents(command).await,
            Command::Classify { text, jsonl, llm, config } => classify(text, jsonl, llm, config).await,
            Command::Console { config, data_dir, user } => console(config, data_dir, user).await,
        }
    })
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    // Client libraries stay quiet unless asked: some log request URLs, and a Telegram
    // request URL carries the bot token.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,serenity=warn,teloxide=warn,teloxide_core=warn,slack_morphism=warn,hyper=warn,reqwest=warn,sled=warn,tracing=warn")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Loads and validates; prints the problems and returns the exit code on failure.
fn load(path: Option<&std::path::Path>) -> Result<(Config, String), ExitCode> {
    match Config::load(path) {
        Ok(loaded) => Ok(loaded),
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::from(EX_USAGE))
        }
    }
}

async fn run(config: Option<PathBuf>, listen: Option<SocketAddr>, data_dir: Option<PathBuf>) -> ExitCode {
    let (mut config, origin) = match load(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    if let Some(dir) = data_dir {
        config.storage.path = dir;
    }
    tracing::info!(config = %origin, version = env!("CARGO_PKG_VERSION"), "starting warroom");
    let stop = app::signal();
    let running =
        match app::start(Options { config, http: true, temporary_store: false, extra_platforms: Vec::new() })
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("cannot start: {e:#}");
                return ExitCode::FAILURE;
            }
        };
    stop.await;
    tracing::info!("shutdown requested; finishing work in hand");
    match running.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("shutdown failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(config: Option<PathBuf>) -> ExitCode {
    match load(config.as_deref()) {
        Ok((config, origin)) => {
            println!("{origin}: ok");
            for (name, enabled) in [
                ("slack", config.slack.as_ref().is_some_and(|s| s.bot_token.is_set())),
                ("discord", config.discord.as_ref().is_some_and(|d| d.token.is_set())),
                ("telegram", config.telegram.as_ref().is_some_and(|t| t.token.is_set())),
                ("llm", config.llm.is_configured()),
            ] {
                println!("  {name}: {}", if enabled { "enabled" } else { "disabled (not configured)" });
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

async fn incidents(command: IncidentsCommand) -> ExitCode {
    let server = match &command {
        IncidentsCommand::List { server, .. } | IncidentsCommand::Show { server, .. } => server,
    };
    // The config is read only for what the flags leave open; with `--server` given, a
    // broken ./config.toml (perhaps another project's) is no reason to refuse.
    let config = match (&server.server, &server.token) {
        (Some(_), Some(_)) => None,
        _ => match Config::load(server.config.as_deref()) {
            Ok((config, _)) => Some(config),
            Err(_) if server.server.is_some() && server.config.is_none() => None,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(EX_USAGE);
            }
        },
    };
    // (Without `--server` the config loaded, or we returned above.)
    let base = server.server.clone().or_else(|| config.as_ref().map(Config::api_url)).unwrap_or_default();
    let token = server.token.clone().or_else(|| {
        config.as_ref().and_then(|c| c.api.token.is_set().then(|| c.api.token.expose().to_string()))
    });
    let base = base.trim_end_matches('/').to_string();
    let client = reqwest::Client::new();
    let (path, json) = match &command {
        IncidentsCommand::List { status, json, .. } => (
            match status {
                Some(s) => format!(
                    "/api/incidents?status={}",
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                ),
                None => "/api/incidents".to_string(),
            },
            *json,
        ),
        IncidentsCommand::Show { id, json, .. } => {
            (format!("/api/incidents/{}", id.trim_start_matches('#')), *json)
        }
    };
    let mut request = client.get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "warroom: cannot reach the daemon at {base}: {e}\n(is `warroom run` running? see --server)"
            );
            return ExitCode::from(EX_UNAVAILABLE);
        }
    };
    let status = response.status();
    let body: serde_json::Value = match response.json().await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("warroom: the daemon answered {status} with something that is not JSON: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !status.is_success() {
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
            "\n(the daemon has api.token set: pass --token or set WARROOM_API_TOKEN)"
        } else {
            ""
        };
        eprintln!(
            "warroom: {} ({status}){hint}",
            body.get("error").and_then(|e| e.as_str()).unwrap_or("request failed")
        );
        return ExitCode::FAILURE;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    match command {
        IncidentsCommand::List { .. } => {
            let rows = body.as_array().cloned().unwrap_or_default();
            if rows.is_empty() {
                println!("no incidents");
            } else {
                println!(
                    "{:<6} {:<9} {:<14} {:<13} {:<17} TITLE",
                    "ID", "SEVERITY", "STATUS", "SOURCE", "CREATED"
                );
                for row in rows {
                    let created = text(&row, "created_at");
                    println!(
                        "#{:<5} {:<9} {:<14} {:<13} {:<17} {}",
                        row.get("id").and_then(|v| v.as_u64()).unwrap_or(0),
                        text(&row, "severity"),
                        text(&row, "status"),
                        text(&row, "source"),
                        created.get(..16).unwrap_or(&created).replace('T', " "),
                        text(&row, "title"),
                    );
                }
            }
        }
        IncidentsCommand::Show { .. } => {
            let incident = &body["incident"];
            println!("#{} {}", incident["id"], text(incident, "title"));
            println!(
                "severity {}{} · status {} · source {} · opened {}",
                text(incident, "severity"),
                if incident["severity_confirmed"].as_bool() == Some(false) { " (unconfirmed)" } else { "" },
                text(incident, "status"),
                text(incident, "source"),
                text(incident, "created_at"),
            );
            let description = text(incident, "description");
            if !description.is_empty() {
                println!("\n{description}");
            }
            println!("\ntimeline:");
            for entry in body["timeline"].as_array().cloned().unwrap_or_default() {
                let kind: Result<warroom::model::TimelineEntry, _> = serde_json::from_value(entry.clone());
                match kind {
                    Ok(e) => println!(
                        "  {} {:<12} {}",
                        e.at.format("%Y-%m-%d %H:%M:%S"),
                        e.actor.display(),
                        e.kind.describe()
                    ),
                    Err(_) => println!("  {entry}"),
                }
            }
        }
    }
    ExitCode::SUCCESS
}

async fn classify(
    text: Option<String>,
    jsonl: Option<PathBuf>,
    use_llm: bool,
    config: Option<PathBuf>,
) -> ExitCode {
    let (config, _) = match load(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let llm = if use_llm {
        let client =
            warroom::llm::from_config(&config.llm, warroom::llm::redact::Redactor::new(config.secrets()));
        if client.is_none() {
            eprintln!("warroom: --llm needs an [llm] provider in the config; using heuristics only");
        }
        client
    } else {
        None
    };
    let prompt = app::load_prompt(&config.classifier.prompt, warroom::classify::BUILTIN_PROMPT);
    let mut classifier_config = config.classifier.clone();
    classifier_config.llm = use_llm;
    let classifier = Arc::new(warroom::classify::Classifier::new(&classifier_config, llm, prompt));
    let ctx = warroom::classify::Context::default();
    let mut out = std::io::stdout().lock();
    match (text, jsonl) {
        (Some(text), None) => {
            let verdict = classifier.classify(&text, &ctx).await;
            let _ = writeln!(out, "{}", serde_json::to_string(&verdict).unwrap_or_default());
            ExitCode::SUCCESS
        }
        (None, Some(path)) => {
            let file = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("warroom: cannot read {}: {e}", path.display());
                    return ExitCode::from(EX_USAGE);
                }
            };
            for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                let value: serde_json::Value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(e) => {
                        eprintln!("warroom: {}:{}: not JSON: {e}", path.display(), n + 1);
                        return ExitCode::from(EX_USAGE);
                    }
                };
                let Some(text) = value.get("text").and_then(|t| t.as_str()) else {
                    eprintln!("warroom: {}:{}: missing \"text\"", path.display(), n + 1);
                    return ExitCode::from(EX_USAGE);
                };
                let verdict = classifier.classify(text, &ctx).await;
                let mut row = serde_json::to_value(&verdict).unwrap_or_default();
                row["id"] = value.get("id").cloned().unwrap_or(serde_json::Value::Null);
                let _ = writeln!(out, "{row}");
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("warroom: give a message, or --jsonl FILE");
            ExitCode::from(EX_USAGE)
        }
    }
}

async fn console(config: Option<PathBuf>, data_dir: Option<PathBuf>, user: String) -> ExitCode {
    let (mut config, _) = match load(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The console is its own little world: no chat platforms, no HTTP server.
    config.slack = None;
    config.discord = None;
    config.telegram = None;
    config.outbox.channel_interval_ms = 0;
    let temporary = data_dir.is_none();
    let mut console = warroom::platforms::console::Console::new(Box::new(std::io::stdout()), &user);
    if let Some(dir) = data_dir {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("warroom: cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        console = console.keep_ids_in(&dir);
        config.storage.path = dir;
    }
    let console = Arc::new(console);
    println!(
        "warroom console — you are {user} in #console. Type `@warroom <message>`, `t<N>: <reply>`, \
         `/incident help`, a button number, or /quit."
    );
    let running = match app::start(Options {
        config,
        http: false,
        temporary_store: temporary,
        extra_platforms: vec![console],
    })
    .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("warroom: cannot start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let done = running.inbound_done.clone();
    tokio::select! {
        _ = done.cancelled() => running.drain(std::time::Duration::from_secs(30)).await,
        _ = app::signal() => {}
    }
    match running.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}
