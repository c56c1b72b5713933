//! The admin page in a real browser: headless Chromium (Debian's `chromium` package) loads
//! `/admin` from a server started in-process, runs the page's script, and the figures it dumps
//! change as clients connect and leave.
//!
//! One test per registered engine at one shard (`lock_1::admin_page_figures_follow_clients`,
//! ...; `lockchan::for_each_engine!`). Ignored by default, as it needs `/usr/bin/chromium`:
//! `.ci/run` installs it and runs this file with `--ignored`.

mod common;

use std::fs::{self, File};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::server::{TestClient, TestServer};
use lockchan::EngineSpec;
use lockchan::server::ServerConfig;

const CHROMIUM: &str = "/usr/bin/chromium";

/// How long one Chromium run may take, in real time, before it is killed.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// Virtual time Chromium gives the page before it dumps the DOM. The page fetches
/// `/admin/stats` at once and then every second; virtual time waits while a fetch is pending,
/// so this covers about three polls and costs well under a second of real time. Without a
/// budget the DOM is dumped before the first fetch lands, and every figure reads "–".
const VIRTUAL_TIME_BUDGET_MS: u32 = 3000;

/// How many clients connect between the first and the second look.
const CLIENTS: usize = 5;

/// The page test on each engine spec of one shard; the others are skipped, as a shard count
/// changes nothing the page shows.
macro_rules! on_one_shard {
    () => {};
    ($module:ident: $kind:ident / 1, $($rest:tt)*) => {
        mod $module {
            #[test]
            #[ignore = "needs Debian's chromium: .ci/run installs it and runs this with --ignored"]
            fn admin_page_figures_follow_clients() {
                super::run(lockchan::EngineSpec::new(lockchan::EngineKind::$kind, 1));
            }
        }
        on_one_shard! { $($rest)* }
    };
    ($module:ident: $kind:ident / $shards:literal, $($rest:tt)*) => {
        on_one_shard! { $($rest)* }
    };
}

lockchan::for_each_engine!(on_one_shard {}, several = 2);

fn run(spec: EngineSpec) {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: this test needs Debian's chromium package \
         (apt-get install --no-install-recommends chromium; .ci/run installs it)"
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(figures_follow_clients(spec));
}

async fn figures_follow_clients(spec: EngineSpec) {
    let server = TestServer::start(spec, ServerConfig::default()).await;
    let engine = spec.to_string();

    // No client yet: the page loads, fetches its figures and shows them.
    let page = Page::load(server.admin).await;
    page.expect_fetched();
    page.expect("engine", &engine);
    page.expect("connections", "0");
    page.expect("connections_peak", "0");

    // Clients connect (and stay: they answer nothing, but the first ping is 54 s away).
    let mut clients: Vec<TestClient> = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        clients.push(server.client(&format!("browser-test-{i}")).await);
    }
    server
        .stats_until("every client counted", |s| s["connections"] == CLIENTS)
        .await;
    let page = Page::load(server.admin).await;
    page.expect_fetched();
    page.expect("engine", &engine);
    page.expect("connections", &CLIENTS.to_string());
    page.expect("connections_peak", &CLIENTS.to_string());

    // They leave: the count falls back, the peak stays.
    drop(clients);
    server
        .stats_until("every client gone", |s| s["connections"] == 0)
        .await;
    let page = Page::load(server.admin).await;
    page.expect_fetched();
    page.expect("connections", "0");
    page.expect("connections_peak", &CLIENTS.to_string());

    server.stop().await;
}

/// The DOM of `/admin` as headless Chromium left it after the virtual-time budget.
struct Page {
    dom: String,
}

impl Page {
    async fn load(admin: SocketAddr) -> Page {
        let url = format!("http://{admin}/admin");
        let dom = tokio::task::spawn_blocking(move || dump_dom(&url))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        Page { dom }
    }

    /// Asserts that `#stat-<key>` shows `want`, as its text and its `data-value`.
    fn expect(&self, key: &str, want: &str) {
        let id = format!("stat-{key}");
        let Some((attrs, text)) = element(&self.dom, &id) else {
            panic!("no element #{id} in the page:\n{}", self.excerpt(&id));
        };
        assert_eq!(
            text,
            want,
            "#{id} shows {text:?}, not {want:?}:\n{}",
            self.excerpt(&id)
        );
        // A string's data-value is the string, a number's its JSON.
        assert_eq!(
            attribute(attrs, "data-value"),
            Some(want),
            "#{id} has the wrong data-value:\n{}",
            self.excerpt(&id)
        );
    }

    /// Asserts that at least one fetch of `/admin/stats` landed and the page shows no error.
    fn expect_fetched(&self) {
        let (attrs, text) = element(&self.dom, "updated")
            .unwrap_or_else(|| panic!("no element #updated:\n{}", self.excerpt("updated")));
        assert!(
            attribute(attrs, "data-ms").is_some() && text != "–",
            "the page never fetched /admin/stats (#updated is {text:?}):\n{}",
            self.excerpt("updated")
        );
        let (attrs, text) = element(&self.dom, "error")
            .unwrap_or_else(|| panic!("no element #error:\n{}", self.excerpt("error")));
        assert!(
            text.is_empty() && attribute(attrs, "class") != Some("show"),
            "the page shows an error: {text:?}:\n{}",
            self.excerpt("error")
        );
    }

    /// The dumped DOM around `id="<id>"`, or its start if the id is absent.
    fn excerpt(&self, id: &str) -> String {
        let at = self.dom.find(&format!("id=\"{id}\"")).unwrap_or(0);
        let start = floor_boundary(&self.dom, at.saturating_sub(600));
        let end = floor_boundary(&self.dom, (at + 600).min(self.dom.len()));
        format!(
            "…{}… ({} bytes of DOM in all)",
            &self.dom[start..end],
            self.dom.len()
        )
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The attributes and text of the element with `id="<id>"` in `dom`: everything between the id
/// and the tag's `>`, and the text from there to the next `<`.
fn element<'a>(dom: &'a str, id: &str) -> Option<(&'a str, &'a str)> {
    let marker = format!("id=\"{id}\"");
    let rest = &dom[dom.find(&marker)? + marker.len()..];
    let (attrs, rest) = rest.split_once('>')?;
    let text = rest.split_once('<').map_or(rest, |(text, _)| text);
    Some((attrs, text))
}

fn attribute<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("{name}=\"");
    let rest = &attrs[attrs.find(&marker)? + marker.len()..];
    rest.split_once('"').map(|(value, _)| value)
}

/// Runs headless Chromium on `url` with a fresh profile and returns the DOM it dumps; kills
/// it (its whole process group) if it takes longer than [`CHROMIUM_TIMEOUT`].
fn dump_dom(url: &str) -> String {
    let dir = TempDir::new();
    let (out, err) = (dir.0.join("dom.html"), dir.0.join("stderr.txt"));
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox", // the CI runs as root
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            // No calls home: on a closed network they are refused, and they are noise anyway.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.0.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}"))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("create the DOM file"))
        .stderr(File::create(&err).expect("create the stderr file"))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            kill_group(child.id());
            let _ = child.wait();
            panic!(
                "chromium took over {CHROMIUM_TIMEOUT:?} on {url}; killed. Its stderr:\n{}",
                tail(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = fs::read_to_string(&out).expect("read the dumped DOM");
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium on {url} ended with {status} and dumped {} bytes. Its stderr:\n{}",
        dom.len(),
        tail(&err)
    );
    dom
}

fn kill_group(pid: u32) {
    let pgid = libc::pid_t::try_from(pid).expect("a pid");
    // SAFETY: kill(2) with a negative pid signals the process group we created for this child;
    // it touches no memory. An error (the group is already gone) is fine.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A fresh directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "lockchan-admin-page-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
