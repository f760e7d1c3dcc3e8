//! `step.lua`'s retry part against a real Redis: a retry pushed now or
//! delayed with its failure kept, a counter cleared, nothing done twice
//! when the finish is repeated, and the failed lists capped.

use super::*;
use crate::retries::{Attempt, RetryFinish, Then};

const COUNTER: &str = "resque:resque-retry:A:x";
const KEPT: &str = "resque:failure-resque-retry:A:x";
const ITEM: &str = r#"{"class":"A","args":[1],"queue":"q"}"#;

fn finish(then: Then, kept: Option<&str>) -> RetryFinish {
    RetryFinish {
        attempt: Attempt { number: 1, counter: COUNTER.into(), failure_key: KEPT.into() },
        then,
        counter_ttl: 40,
        kept: kept.map(|k| (k.to_string(), 20)),
    }
}

/// P1 ran from `q` and is finished with `retry`, `failure` for the lists;
/// the same step takes from `next` (to show the keys after the retry part
/// are where the script looks).
fn finish_with(r: &mut TestRedis, client: &Client, failure: Option<&str>, retry: RetryFinish) -> Value {
    let ran = in_flight_retried(r, "q", P1, failure, Some(retry));
    r.exec(&["SET", COUNTER, "0"]);
    r.exec(&["RPUSH", "resque:queue:next", P3]);
    let next = Queues::new(client, vec![b"next".to_vec()]);
    run(r, client, &a_step(Some(&ran), None, 1, &next), &[Redis])
}

fn ttl(r: &mut TestRedis, key: &str) -> i64 {
    r.query(redis::cmd("TTL").arg(key))
}

#[test]
fn a_delayed_retry_lands_in_resque_schedulers_keys_with_its_failure_kept() {
    let (mut r, client) = TestRedis::start_with_client();
    let at = Timestamp::now().as_second() + 30;
    let mut wake = r.subscribe("resque:delayed_wake");
    let reply =
        finish_with(&mut r, &client, None, finish(Then::Later { at, item: ITEM.into() }, Some(FAILURE)));
    let Value::Array(items) = reply else { panic!("{reply:?}") };
    assert_eq!(items.get(2), Some(&bulk(P3)), "the take after the retry keys");
    let bucket = format!("delayed:{at}");
    assert_eq!(r.texts(format!("resque:{bucket}")), [ITEM]);
    assert_eq!(r.members(format!("resque:timestamps:{ITEM}")), BTreeSet::from([bucket.into_bytes()]));
    let schedule: Vec<String> =
        r.query(redis::cmd("ZRANGE").arg("resque:delayed_queue_schedule").arg(0).arg(-1));
    assert_eq!(schedule, [at.to_string()]);
    // the failure is kept, not in `failed`; counted as failed and as retried
    assert_eq!(r.text(KEPT).as_deref(), Some(FAILURE));
    assert!((19..=20).contains(&ttl(&mut r, KEPT)));
    assert!((39..=40).contains(&ttl(&mut r, COUNTER)));
    assert_eq!(r.text(COUNTER).as_deref(), Some("0"));
    assert!(r.texts(FAILED_LIST).is_empty());
    assert_eq!(r.text(FAILED).as_deref(), Some("1"));
    assert_eq!(r.text(WORKER_FAILED).as_deref(), Some("1"));
    assert_eq!(r.text("resque:stat:retried").as_deref(), Some("1"));
    assert_eq!(r.text(PROCESSED).as_deref(), Some("1"));
    assert_eq!(wake.messages(), [at.to_string()]);
}

#[test]
fn a_retry_now_pushes_the_payload_back_to_its_queue() {
    let (mut r, client) = TestRedis::start_with_client();
    let mut wake = r.subscribe("resque:wake");
    finish_with(&mut r, &client, None, finish(Then::Now, None));
    assert_eq!(r.texts("resque:queue:q"), [P1]);
    assert!(r.members(QUEUES).contains(b"q".as_slice()));
    assert_eq!(r.get(KEPT), None);
    assert!(r.texts(FAILED_LIST).is_empty());
    assert_eq!(r.text(FAILED).as_deref(), Some("1"));
    assert_eq!(r.text("resque:stat:retried").as_deref(), Some("1"));
    assert_eq!(wake.messages(), ["q"]);
}

#[test]
fn a_retry_now_pushes_the_exact_bytes_back() {
    let (mut r, client) = TestRedis::start_with_client();
    let raw = b"{\"class\":\"A\",\"args\":[\"\xff\x00\\u00e9\"]}".to_vec();
    let entry = b"an entry for bytes".to_vec();
    r.query::<()>(redis::cmd("RPUSH").arg(INFLIGHT).arg(&entry));
    let taken = Taken { queue: "q".into(), raw_queue: None, raw: raw.clone(), entry };
    let ran = Ran::new(taken, None, Some(finish(Then::Now, None)));
    let command = command(&client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[], None);
    // Sent once for the entry's removal (here not the payload) and once for the push.
    let packed = command.get_packed_command();
    assert_eq!(occurrences(&packed, &raw), 1);
    let _: Value = script::run(&STEP, &command, r.conn()).expect("the step runs");
    assert_eq!(r.list("resque:queue:q"), [raw]);
    assert!(r.list(INFLIGHT).is_empty());
}

#[test]
fn giving_up_records_the_failure_and_clears_the_counter() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["SET", KEPT, "an earlier failure"]);
    finish_with(&mut r, &client, Some(FAILURE), finish(Then::Clear, None));
    assert_eq!(r.texts(FAILED_LIST), [FAILURE]);
    assert_eq!((r.get(COUNTER), r.get(KEPT)), (None, None));
    assert_eq!(r.text(FAILED).as_deref(), Some("1"));
    assert_eq!(r.get("resque:stat:retried"), None);
    assert!(r.texts("resque:queue:q").is_empty());
}

#[test]
fn a_success_clears_the_counter_and_counts_no_failure() {
    let (mut r, client) = TestRedis::start_with_client();
    finish_with(&mut r, &client, None, finish(Then::Clear, None));
    assert_eq!(r.get(COUNTER), None);
    assert_eq!((r.get(FAILED), r.text(PROCESSED).as_deref()), (None, Some("1")));
}

#[test]
fn a_repeated_finish_does_not_retry_twice() {
    let (mut r, client) = TestRedis::start_with_client();
    let ran = in_flight_retried(&mut r, "q", P1, None, Some(finish(Then::Now, None)));
    run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis]);
    // the reply was lost; the worker sends the same finish again
    let reply = run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(0)]));
    assert_eq!(r.texts("resque:queue:q"), [P1]);
    assert_eq!(r.text("resque:stat:retried").as_deref(), Some("1"));
}

#[test]
fn the_failed_list_is_capped_oldest_first() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["RPUSH", FAILED_LIST, "old1", "old2", "old3"]);
    let ran = in_flight(&mut r, "q", P1, Some(FAILURE));
    let command = command(&client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis], Some(2));
    let _: Value = script::run(&STEP, &command, r.conn()).expect("the step runs");
    assert_eq!(r.texts(FAILED_LIST), ["old3", FAILURE]);
}
