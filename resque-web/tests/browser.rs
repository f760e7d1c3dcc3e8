//! The pages in a real browser: headless Chromium, driven over WebDriver by
//! chromedriver, against the app served on a real socket and a real Redis.
//! Loads every tab, retries a failed job by clicking, removes a queue,
//! prunes a stale worker, watches live polling update Overview and Workers,
//! checks the XSS payload shows as text, queues a delayed second now, and
//! enqueues a schedule now, runs a waiting retry now, and saves screenshots
//! of Overview, Failed, Delayed, Schedule, Retries and a page with Redis
//! down under `target/tmp/screenshots/`. With Redis down, a page shows the
//! tabs and the banner, and shows itself again once Redis is back (on a
//! reload, and by itself).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them). Without them the test says so loudly and passes, except under CI
//! (`CI` set), where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use fantoccini::{ClientBuilder, Locator};
use redis::Commands;
use resque::failure::{FailureBackend, RedisFailures};
use resque::keys::stat;
use resque_tests::{Reaped, TestRedis};
use resque_web::WebOptions;
use serde_json::{json, Value};

const XSS: &str = "<script>alert(1)</script>";
const XSS_IMG: &str = "<img src=x onerror=\"window.__xss=1\">";
const FRESH_WORKER: &str = "web1:4211:file_serve";
const STALE_WORKER: &str = "db1:99:mail";
const LIMIT: Duration = Duration::from_secs(30);

/// A program on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// chromedriver and the browser, or `None` (after saying why) when the
/// machine lacks them outside CI.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let driver = std::env::var_os("CHROMEDRIVER").map(PathBuf::from).or_else(|| on_path("chromedriver"));
    let browser = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path("chromium"))
        .or_else(|| on_path("chromium-browser"));
    match (driver, browser) {
        (Some(d), Some(b)) => Some((d, b)),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "chromium and chromedriver are required under CI: apt-get install chromium chromium-driver"
            )
        }
        _ => {
            // Straight to the process's stderr: the test harness captures
            // `eprintln!` of a passing test, and this must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED the browser test: chromium and chromedriver are not installed \
                 (apt-get install chromium chromium-driver, or run .ci/run) ***\n"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// chromedriver on a free port, once it accepts connections.
fn start_driver(driver: &Path) -> (Reaped, u16) {
    let port = free_port();
    let child = Reaped::spawn(
        Command::new(driver).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()),
    );
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < LIMIT, "chromedriver did not start on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

/// Jobs (one carrying the XSS text), two Ruby failures, a busy worker with
/// a fresh heartbeat and a stale one.
fn populate(redis: &TestRedis) {
    let client = redis.client();
    let keys = client.keys();
    client.enqueue_class("file_serve", "Archive", &(44, "masterbrew")).unwrap();
    client.enqueue_class("mail", "Mailer", &[XSS, XSS_IMG]).unwrap();
    let mut conn = redis.conn();
    let failure = |class: &str, queue: &str, args: Value, error: &str| {
        common::ruby_failure(FRESH_WORKER, class, queue, args, error)
    };
    let _: () = conn
        .rpush(keys.failed(), failure("Archive", "file_serve", json!([44, "masterbrew"]), "disk full"))
        .unwrap();
    let _: () = conn
        .rpush(keys.failed(), failure("Mailer", "mail", json!([XSS, XSS_IMG]), "<b>550</b> no mailbox"))
        .unwrap();
    let now = client.redis_time().unwrap();
    let beat = jiff::Timestamp::from_second(now).unwrap().strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    for (id, beat) in [(FRESH_WORKER, beat.as_str()), (STALE_WORKER, "2026-01-01T00:00:00+00:00")] {
        let _: () = conn.sadd(keys.workers(), id).unwrap();
        let _: () = conn.hset(keys.heartbeat(), id, beat).unwrap();
        let _: () = conn.set(keys.worker_started(id), "2026-11-24 03:00:00 +0000").unwrap();
    }
    let run_at = jiff::Timestamp::from_second(now - 42).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let _: () = conn
        .set(
            keys.worker(FRESH_WORKER),
            json!({"queue": "file_serve", "run_at": run_at, "payload": {"class": "Archive", "args": [45, "main"]}})
                .to_string(),
        )
        .unwrap();
    let _: () = conn.set(keys.stat(stat::PROCESSED), "1234").unwrap();
    let _: () = conn.set(keys.stat(stat::FAILED), "2").unwrap();
    for (delay, args) in [(90, json!([46, "later"])), (3600, json!([47, "nightly"])), (3600, json!([XSS]))] {
        client.enqueue_class_at(now + delay, "file_serve", "Archive", &args).unwrap();
    }
    client
        .set_schedule("digest", &json!({"every": "1h", "class": "Mailer", "queue": "digests", "args": [XSS]}))
        .unwrap();
    let _: () = conn.set(keys.scheduler_master_lock(None), "sched1:77").unwrap();
}

/// Doomed [9, XSS] waiting at `at` after its second run, as Ruby's
/// resque-retry leaves it: the delayed item, the counter (1) and the kept
/// failure.
fn waiting_retry(redis: &TestRedis, at: i64) {
    let args = json!([9, XSS]);
    let id = resque::payload::retry_identifier(args.as_array().unwrap()).unwrap();
    redis.delay_as_ruby(at, &resque::payload::encode_delayed("Doomed", &args, "rq").unwrap());
    let mut conn = redis.conn();
    let _: () = conn.set(format!("resque:resque-retry:Doomed:{id}"), "1").unwrap();
    let kept = common::ruby_failure("web1:4211:rq", "Doomed", "rq", args, "boom");
    let _: () = conn.set_ex(format!("resque:failure-resque-retry:Doomed:{id}"), kept, 1200).unwrap();
}

fn save_screenshot(name: &str, png: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
    // Width and height from the IHDR chunk: the window's size, not an empty capture.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(width >= 1000 && height >= 700, "{name}: {width}x{height}");
    eprintln!("screenshot: {}", path.display());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_a_real_browser() {
    let Some((driver, browser)) = browser_tools() else { return };
    let redis = TestRedis::start();
    populate(&redis);
    let client = redis.client();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(resque_web::serve_on(listener, redis.client(), WebOptions::new()));

    let (_driver, web) = session(&driver, &browser).await;
    let h1 = |web: fantoccini::Client| async move {
        web.find(Locator::Css("h1")).await.unwrap().text().await.unwrap()
    };

    // Every tab, reached by clicking it.
    web.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(h1(web.clone()).await, "Overview");
    for (tab, heading) in [
        ("Working", "Working"),
        ("Failed", "Failed"),
        ("Queues", "Queues"),
        ("Workers", "Workers"),
        ("Stats", "Stats"),
        ("Delayed", "Delayed"),
        ("Schedule", "Schedule"),
        ("Overview", "Overview"),
    ] {
        web.find(Locator::LinkText(tab)).await.unwrap().click().await.unwrap();
        web.wait()
            .at_most(LIMIT)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(".tab.active"))
            .await
            .unwrap();
        assert_eq!(h1(web.clone()).await, heading, "after clicking {tab}");
    }

    // Overview shows the figures and the busy worker.
    let figures = web.find(Locator::Css(".stats-row")).await.unwrap().text().await.unwrap();
    assert!(figures.contains("1234") && figures.contains("PENDING"), "{figures}");
    let working = web.find(Locator::Css(".grid2")).await.unwrap().text().await.unwrap();
    assert!(working.contains("web1:4211") && working.contains("Archive"), "{working}");
    save_screenshot("overview", &web.screenshot().await.unwrap());

    // Live polling: new jobs show up without a reload.
    web.execute("window.__marker = 'same page'; return null;", vec![]).await.unwrap();
    for i in 0..3 {
        client.enqueue_class("file_serve", "Archive", &(100 + i, "live")).unwrap();
    }
    let start = Instant::now();
    loop {
        let pending = live_text(&web, ".stats-row .stat .n").await;
        if pending == "5" {
            break;
        }
        assert!(start.elapsed() < LIMIT, "the Overview never showed 5 pending (still {pending})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let marker = web.execute("return window.__marker;", vec![]).await.unwrap();
    assert_eq!(marker, json!("same page"), "the page was reloaded rather than polled");

    // Failed: the XSS payload is text, nothing ran.
    web.goto(&format!("{base}/failed")).await.unwrap();
    let mailer = web.find(Locator::Css("#failure-1")).await.unwrap().text().await.unwrap();
    assert!(mailer.contains(XSS), "the script shows as text: {mailer}");
    assert!(mailer.contains("<b>550</b> no mailbox"), "markup in the error shows as text: {mailer}");
    let ran = web.execute("return window.__xss === undefined ? null : window.__xss;", vec![]).await.unwrap();
    assert_eq!(ran, Value::Null, "a payload ran as script");
    assert!(web.get_alert_text().await.is_err(), "an alert is open");
    // Expand the backtrace of the newest entry for the screenshot.
    web.find(Locator::Css("#failure-1 details:last-of-type summary")).await.unwrap().click().await.unwrap();
    let trace =
        web.find(Locator::Css("#failure-1 details:last-of-type pre")).await.unwrap().text().await.unwrap();
    assert!(trace.contains("lib/resque/job.rb:166"), "{trace}");
    save_screenshot("failed", &web.screenshot().await.unwrap());

    // Retry a failed job by clicking: it is back at the end of its queue.
    let before = client.size("file_serve").unwrap();
    web.find(Locator::Css("#failure-0 button.primary")).await.unwrap().click().await.unwrap();
    web.wait()
        .at_most(LIMIT)
        .every(Duration::from_millis(100))
        .for_element(Locator::Css("#failure-0 .badge.retried"))
        .await
        .unwrap();
    assert_eq!(client.size("file_serve").unwrap(), before + 1);
    let last = client.peek("file_serve", before as usize, 1).unwrap();
    assert_eq!(last, vec![json!({"class": "Archive", "args": [44, "masterbrew"]})]);

    // The list shifts under the page (another client removes the oldest
    // entry): the Mailer entry's Remove still removes the Mailer entry.
    RedisFailures::new(client.clone()).remove(0).unwrap();
    web.find(Locator::Css("#failure-1 button.danger")).await.unwrap().click().await.unwrap();
    let start = Instant::now();
    while client.failed_count().unwrap() != 0 {
        assert!(start.elapsed() < LIMIT, "the Mailer entry is still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Remove a queue: confirm, and it is gone.
    web.goto(&format!("{base}/queues/mail")).await.unwrap();
    web.find(Locator::Css("form[action$='/remove'] button")).await.unwrap().click().await.unwrap();
    assert!(web.get_alert_text().await.unwrap().contains("Remove this queue"));
    web.accept_alert().await.unwrap();
    web.wait()
        .at_most(LIMIT)
        .every(Duration::from_millis(100))
        .for_element(Locator::Css("h1"))
        .await
        .unwrap();
    let start = Instant::now();
    while client.queues().unwrap().contains(&"mail".to_string()) {
        assert!(start.elapsed() < LIMIT, "the mail queue is still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(h1(web.clone()).await, "Queues");
    assert!(!web.source().await.unwrap().contains("/queues/mail\""), "the queue is still listed");

    // Workers: the stale one is flagged; pruning it leaves the live one.
    web.goto(&format!("{base}/workers")).await.unwrap();
    let notice = web.find(Locator::Css(".notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("1 worker has sent no heartbeat"), "{notice}");
    web.find(Locator::Css(".notice button")).await.unwrap().click().await.unwrap();
    web.accept_alert().await.unwrap();
    let start = Instant::now();
    while client.workers().unwrap().len() != 1 {
        assert!(start.elapsed() < LIMIT, "the stale worker was not pruned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(client.workers().unwrap(), vec![FRESH_WORKER.to_string()]);

    // Delayed: the seconds with their counts; Queue now moves a second's jobs.
    web.goto(&format!("{base}/delayed")).await.unwrap();
    let seconds = web.find(Locator::Css("[data-live] table")).await.unwrap().text().await.unwrap();
    assert!(seconds.contains("(in 1m)"), "{seconds}");
    assert!(seconds.contains("(in 59m)") || seconds.contains("(in 1h)"), "{seconds}");
    save_screenshot("delayed", &web.screenshot().await.unwrap());
    let before = client.size("file_serve").unwrap();
    web.find(Locator::Css("tbody tr:first-child button.primary")).await.unwrap().click().await.unwrap();
    let start = Instant::now();
    while client.size("file_serve").unwrap() != before + 1 {
        assert!(start.elapsed() < LIMIT, "Queue now did not move the job");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(client.delayed_count().unwrap(), 2);

    // Schedule: every schedule with its next run and the leader; Enqueue now
    // runs the dynamic one once.
    web.goto(&format!("{base}/schedule")).await.unwrap();
    let listed = web.find(Locator::Css("[data-live]")).await.unwrap().text().await.unwrap();
    assert!(
        listed.contains("sched1:77") && listed.contains("every 1h") && listed.contains("(in 1h)"),
        "{listed}"
    );
    assert!(listed.contains(XSS), "the args shown as text: {listed}");
    save_screenshot("schedule", &web.screenshot().await.unwrap());
    web.find(Locator::Css(r#"tr[data-schedule="digest"] button.primary"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let start = Instant::now();
    while client.size("digests").unwrap() != 1 {
        assert!(start.elapsed() < LIMIT, "Enqueue now did not enqueue the job");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Retries: a retry Ruby's resque-retry left waiting, with its attempt,
    // next run and last error; Retry now queues it.
    waiting_retry(&redis, client.redis_time().unwrap() + 600);
    web.goto(&format!("{base}/retries")).await.unwrap();
    let listed = web.find(Locator::Css("[data-live] table")).await.unwrap().text().await.unwrap();
    for shown in ["Doomed", "rq", "(in 10m)", "RuntimeError: boom", XSS] {
        assert!(listed.contains(shown), "{shown} not in {listed}");
    }
    save_screenshot("retries", &web.screenshot().await.unwrap());
    web.find(Locator::Css("tbody tr:first-child button.primary")).await.unwrap().click().await.unwrap();
    let start = Instant::now();
    while client.size("rq").unwrap() != 1 {
        assert!(start.elapsed() < LIMIT, "Retry now did not queue the retry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Live polling of Workers: a worker that starts shows up without a reload.
    web.goto(&format!("{base}/workers")).await.unwrap();
    let count = web.find(Locator::Css(".card-head h2")).await.unwrap().text().await.unwrap();
    assert_eq!(count, "1 worker");
    web.execute("window.__marker = 'same page'; return null;", vec![]).await.unwrap();
    let newcomer = "web3:512:file_serve";
    let mut conn = redis.conn();
    let _: () = conn.sadd(redis.client().keys().workers(), newcomer).unwrap();
    let start = Instant::now();
    loop {
        let count = live_text(&web, ".card-head h2").await;
        if count == "2 workers" {
            break;
        }
        assert!(start.elapsed() < LIMIT, "the Workers page never showed the new worker (still {count})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(web.source().await.unwrap().contains("web3:512"));
    let marker = web.execute("return window.__marker;", vec![]).await.unwrap();
    assert_eq!(marker, json!("same page"), "the Workers page was reloaded rather than polled");

    web.close().await.unwrap();
}

/// A WebDriver session in headless Chromium, with its chromedriver.
async fn session(driver: &Path, browser: &Path) -> (Reaped, fantoccini::Client) {
    let (child, port) = start_driver(driver);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": browser,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--hide-scrollbars"],
        }),
    );
    let web = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session in chromium");
    (child, web)
}

/// The text of the page's `h1`, or nothing while the page is replaced.
async fn heading(web: &fantoccini::Client) -> String {
    live_text(web, "h1").await
}

/// Waits until the page's `h1` reads `wanted`.
async fn wait_for_heading(web: &fantoccini::Client, wanted: &str) {
    let start = Instant::now();
    loop {
        let now = heading(web).await;
        if now == wanted {
            return;
        }
        assert!(start.elapsed() < LIMIT, "the page never read {wanted:?} (still {now:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_down_banner_and_its_recovery_in_a_real_browser() {
    let Some((driver, browser)) = browser_tools() else { return };
    let mut redis = TestRedis::start();
    redis.stop();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(resque_web::serve_on(listener, redis.client(), WebOptions::new()));
    let (_driver, web) = session(&driver, &browser).await;

    // Redis down: the banner, and the tabs to go elsewhere.
    web.goto(&format!("{base}/overview")).await.unwrap();
    let banner = web.find(Locator::Css("[data-redis-down]")).await.unwrap().text().await.unwrap();
    assert!(banner.contains("is not answering") && banner.contains("retrying"), "{banner}");
    assert!(banner.contains(&format!("127.0.0.1:{}", redis.port())), "{banner}");
    for tab in ["Overview", "Working", "Failed", "Queues", "Workers", "Stats"] {
        web.find(Locator::LinkText(tab)).await.unwrap_or_else(|e| panic!("no {tab} tab: {e}"));
    }
    web.find(Locator::LinkText("Queues")).await.unwrap().click().await.unwrap();
    wait_for_heading(&web, "Redis is not answering").await;
    let active = web.find(Locator::Css(".tab.active")).await.unwrap().text().await.unwrap();
    assert_eq!(active, "Queues");
    assert!(web.current_url().await.unwrap().as_str().ends_with("/queues"));
    save_screenshot("redis-down", &web.screenshot().await.unwrap());

    // Redis starts; a reload shows the page, no banner.
    redis.restart();
    redis.client().enqueue_class("file_serve", "Archive", &(44, "masterbrew")).unwrap();
    web.refresh().await.unwrap();
    wait_for_heading(&web, "Queues").await;
    assert!(web.find_all(Locator::Css("[data-redis-down]")).await.unwrap().is_empty());
    assert!(web.source().await.unwrap().contains(r#"href="/queues/file_serve""#));

    // Down again, then up: the page shows itself again without a reload
    // by hand (app.js retries).
    redis.stop();
    web.goto(&format!("{base}/overview")).await.unwrap();
    wait_for_heading(&web, "Redis is not answering").await;
    redis.restart();
    wait_for_heading(&web, "Overview").await;
    assert!(web.find_all(Locator::Css("[data-redis-down]")).await.unwrap().is_empty());

    web.close().await.unwrap();
}

/// The text of the first element `css` selects, read while live polling may
/// replace it: an element replaced between finding and reading reads as
/// empty, and the caller's loop reads again.
async fn live_text(web: &fantoccini::Client, css: &str) -> String {
    match web.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}
