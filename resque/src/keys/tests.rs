//! The key names, each checked against the spelling the contract fixes.

use super::*;

#[test]
fn every_key_is_namespaced() {
    let k = Keys::new("app");
    assert_eq!(k.queues(), "app:queues");
    assert_eq!(k.queue("a"), "app:queue:a");
    assert_eq!(k.workers(), "app:workers");
    assert_eq!(k.worker("h:1:a"), "app:worker:h:1:a");
    assert_eq!(k.worker_started("h:1:a"), "app:worker:h:1:a:started");
    assert_eq!(k.heartbeat(), "app:workers:heartbeat");
    assert_eq!(k.stat(stat::PROCESSED), "app:stat:processed");
    assert_eq!(k.worker_stat(stat::FAILED, "h:1:a"), "app:stat:failed:h:1:a");
    assert_eq!(k.failed(), "app:failed");
    assert_eq!(k.pause_all(), "app:pause-all-workers");
    assert_eq!(k.prune_lock(), "app:pruning_dead_workers_in_progress");
    assert_eq!(k.inflight("h:1:a"), "app:inflight:h:1:a");
    assert_eq!(k.inflight_pattern(), "app:inflight:*");
    assert_eq!(k.inflight_owner("app:inflight:h:1:a,*"), Some("h:1:a,*"));
    assert_eq!(k.inflight_owner_bytes(b"app:inflight:h:1:\xff"), Some(&b"h:1:\xff"[..]));
    assert_eq!(k.inflight_owner_bytes(b"other:inflight:h:1:a"), None);
    let w = k.worker_keys(b"h:1:a");
    assert_eq!(w.record, k.worker("h:1:a").into_bytes());
    assert_eq!(w.started, k.worker_started("h:1:a").into_bytes());
    assert_eq!(w.inflight, k.inflight("h:1:a").into_bytes());
    assert_eq!(w.processed, k.worker_stat(stat::PROCESSED, "h:1:a").into_bytes());
    assert_eq!(w.failed, k.worker_stat(stat::FAILED, "h:1:a").into_bytes());
    assert_eq!(k.recoveries(), "app:recoveries");
    assert_eq!(k.wake_channel(), "app:wake");
    assert_eq!(k.strip("app:queue:a"), Some("queue:a"));
    assert_eq!(k.strip("other:queue:a"), None);
}

#[test]
fn scan_pattern_escapes_glob_characters() {
    assert_eq!(Keys::new("a*b").pattern_all(), "a\\*b:*");
}
