//! `step.lua`'s take against a real Redis: pausing, queue priority, taking
//! several, the record of the first job taken, and queue names of any bytes.

use super::*;
use crate::payload::InflightEntry;
use crate::test_redis::bulk;

fn queues(client: &Client, names: &[&str]) -> Queues {
    Queues::new(client, names.iter().map(|n| n.as_bytes().to_vec()).collect())
}

fn taking<'a>(queues: &'a Queues, take: usize, start_first: bool) -> Step<'a> {
    Step { finish: None, start: None, take, start_first, queues }
}

/// Asserts that `raw` is the in-flight entry of `payload` from `queue`:
/// an object of exactly those two members.
fn assert_entry(raw: &[u8], queue: &[u8], payload: &str) {
    let entry = InflightEntry::parse(raw).expect("an in-flight entry");
    assert_eq!((entry.queue.as_slice(), entry.payload.as_slice()), (queue, payload.as_bytes()));
    if let Ok(object) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(raw) {
        assert_eq!(object.len(), 2, "{object:?}");
    }
}

/// A server whose `pause-all-workers` is `value`, with a job in `q`.
fn with_pause(value: &str) -> (TestRedis, Client) {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["SET", "resque:pause-all-workers", value]);
    r.exec(&["RPUSH", "resque:queue:q", P1]);
    (r, client)
}

#[test]
fn take_zero_leaves_the_queues_alone() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["RPUSH", "resque:queue:q", P1]);
    let q = queues(&client, &["q"]);
    let reply = run(&mut r, &client, &taking(&q, 0, true), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(0)]));
    assert_eq!(r.texts("resque:queue:q"), [P1]);
    assert_eq!(r.keys(), keys(&["resque:queue:q"]));
}

#[test]
fn pause_all_workers_pauses_as_ruby_reads_it() {
    for value in ["true", " TRUE\n", "\0true", "\t\r\x0b\x0cTrue\0 "] {
        let (mut r, client) = with_pause(value);
        // A finish in the same step still happens.
        let ran = in_flight(&mut r, "q", P2, None);
        let q = queues(&client, &["q"]);
        let step = Step { finish: Some(&ran), ..taking(&q, 1, true) };
        let reply = run(&mut r, &client, &step, &[Redis]);
        assert_eq!(reply, Value::Array(vec![int(1), int(0)]), "{value:?}");
        assert!(matches!(parse_took(reply, &q), Ok(Took::Paused)));
        assert_eq!(r.texts("resque:queue:q"), [P1], "{value:?}");
        let expected = keys(&["resque:pause-all-workers", "resque:queue:q", PROCESSED, WORKER_PROCESSED]);
        assert_eq!(r.keys(), expected, "{value:?}");
    }
}

#[test]
fn other_values_of_pause_all_workers_do_not_pause() {
    for value in ["truex", "false", "", "t rue"] {
        let (mut r, client) = with_pause(value);
        let q = queues(&client, &["q"]);
        let reply = run(&mut r, &client, &taking(&q, 1, false), &[Redis]);
        let inflight = r.list(INFLIGHT);
        assert_eq!(reply, Value::Array(vec![int(0), int(1), bulk(P1), bulk(&inflight[0])]), "{value:?}");
        assert_eq!(r.keys(), keys(&["resque:pause-all-workers", INFLIGHT]), "{value:?}");
    }
}

#[test]
fn the_first_queue_that_has_a_job_gives_it() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["RPUSH", "resque:queue:b", P1, P2]);
    r.exec(&["RPUSH", "resque:queue:c", P2]);
    let q = queues(&client, &["a", "b", "c"]);
    let reply = run(&mut r, &client, &taking(&q, 1, false), &[Redis]);
    let inflight = r.list(INFLIGHT);
    assert_eq!(inflight.len(), 1);
    assert_entry(&inflight[0], b"b", P1);
    assert_eq!(reply, Value::Array(vec![int(0), int(2), bulk(P1), bulk(&inflight[0])]));
    assert_eq!(r.texts("resque:queue:b"), [P2]);
    assert_eq!(r.texts("resque:queue:c"), [P2]);
    assert_eq!(r.keys(), keys(&[INFLIGHT, "resque:queue:b", "resque:queue:c"]));
    let Ok(Took::Jobs(jobs)) = parse_took(reply, &q) else { panic!("a job taken") };
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].queue.as_str(), jobs[0].raw_queue.as_ref()), ("b", None));
    assert_eq!((jobs[0].raw.as_slice(), &jobs[0].entry), (P1.as_bytes(), &inflight[0]));
}

#[test]
fn a_batch_is_taken_from_one_queue_in_order() {
    let (mut r, client) = TestRedis::start_with_client();
    let payloads = ["p1", "p2", "p3", "p4", "p5"];
    r.query::<()>(redis::cmd("RPUSH").arg("resque:queue:q").arg(&payloads));
    r.exec(&["RPUSH", "resque:queue:z", P1]);
    let q = queues(&client, &["q", "z"]);
    let reply = run(&mut r, &client, &taking(&q, 3, false), &[Redis]);
    let inflight = r.list(INFLIGHT);
    assert_eq!(inflight.len(), 3);
    let mut expected = vec![int(0), int(1)];
    for (payload, entry) in payloads.iter().zip(&inflight) {
        assert_entry(entry, b"q", payload);
        expected.extend([bulk(payload), bulk(entry)]);
    }
    assert_eq!(reply, Value::Array(expected));
    assert_eq!(r.texts("resque:queue:q"), ["p4", "p5"]);
    // The step took the jobs as the worker reads them.
    let command = command(&client, &taking(&q, 3, false), &[Redis], None);
    let Ok(Took::Jobs(jobs)) = step(&client, &command, &q) else { panic!("jobs taken") };
    let raws: Vec<&[u8]> = jobs.iter().map(|j| j.raw.as_slice()).collect();
    assert_eq!(raws, [b"p4".as_slice(), b"p5"]);
    assert_eq!(r.list(INFLIGHT)[3..], [jobs[0].entry.clone(), jobs[1].entry.clone()]);
    assert_eq!(r.keys(), keys(&[INFLIGHT, "resque:queue:z"]));
}

#[test]
fn the_first_job_taken_gets_its_record_when_it_starts_now() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["RPUSH", "resque:queue:q", P1, P2]);
    let q = queues(&client, &["q"]);
    let reply = run(&mut r, &client, &taking(&q, 2, true), &[Redis]);
    let inflight = r.list(INFLIGHT);
    let expected = vec![int(0), int(1), bulk(P1), bulk(&inflight[0]), bulk(P2), bulk(&inflight[1])];
    assert_eq!(reply, Value::Array(expected));
    assert_record(&r.get(WORKER).expect("a record"), r#""q""#, P1);
    assert_eq!(r.keys(), keys(&[INFLIGHT, WORKER]));
}

#[test]
fn a_first_job_that_is_not_json_gets_no_record() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["RPUSH", "resque:queue:q", "not json", P2]);
    let q = queues(&client, &["q"]);
    let reply = run(&mut r, &client, &taking(&q, 2, true), &[Redis]);
    let inflight = r.list(INFLIGHT);
    let expected = vec![int(0), int(1), bulk("not json"), bulk(&inflight[0]), bulk(P2), bulk(&inflight[1])];
    assert_eq!(reply, Value::Array(expected));
    assert_entry(&inflight[0], b"q", "not json");
    // Nor does the second, though it is JSON: only the first starts now.
    assert_eq!(r.keys(), keys(&[INFLIGHT]));
}

#[test]
fn a_queue_name_that_is_not_utf8_is_text_in_the_record() {
    let (mut r, client) = TestRedis::start_with_client();
    r.query::<()>(redis::cmd("RPUSH").arg(b"resque:queue:bad\xff".as_slice()).arg(P1));
    let q = Queues::new(&client, vec![b"bad\xff".to_vec()]);
    let reply = run(&mut r, &client, &taking(&q, 1, true), &[Redis]);
    let inflight = r.list(INFLIGHT);
    assert_eq!(reply, Value::Array(vec![int(0), int(1), bulk(P1), bulk(&inflight[0])]));
    // The entry keeps the exact bytes; the record has the text.
    assert_entry(&inflight[0], b"bad\xff", P1);
    assert_record(&r.get(WORKER).expect("a record"), r#""bad\\xff""#, P1);
    let Ok(Took::Jobs(jobs)) = parse_took(reply, &q) else { panic!("a job taken") };
    assert_eq!(jobs[0].queue, "bad\\xff");
    assert_eq!(jobs[0].queue_bytes(), b"bad\xff");
    assert_eq!(r.keys(), keys(&[INFLIGHT, WORKER]));
}

#[test]
fn empty_queues_give_nothing() {
    let (mut r, client) = TestRedis::start_with_client();
    let q = queues(&client, &["a", "b"]);
    let reply = run(&mut r, &client, &taking(&q, 4, true), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(0)]));
    assert!(matches!(parse_took(reply, &q), Ok(Took::Empty)));
    assert_eq!(r.keys(), keys(&[]));
}

#[test]
fn a_failure_in_the_step_does_not_shift_the_queues() {
    let (mut r, client) = TestRedis::start_with_client();
    let ran = in_flight(&mut r, "mail", P2, Some(FAILURE));
    r.exec(&["RPUSH", "resque:queue:b", P1]);
    let q = queues(&client, &["a", "b"]);
    let step = Step { finish: Some(&ran), ..taking(&q, 1, true) };
    let reply = run(&mut r, &client, &step, &[Redis, RedisMultiQueue]);
    let inflight = r.list(INFLIGHT);
    assert_eq!(reply, Value::Array(vec![int(1), int(2), bulk(P1), bulk(&inflight[0])]));
    assert_entry(&inflight[0], b"b", P1);
    assert_record(&r.get(WORKER).expect("a record"), r#""b""#, P1);
    assert_eq!(r.texts(FAILED_LIST), [FAILURE]);
    assert_eq!(r.texts("resque:mail_failed"), [FAILURE]);
    assert_eq!(r.members("resque:failed_queues"), BTreeSet::from([b"mail_failed".to_vec()]));
    let mut expected = keys(&[INFLIGHT, WORKER, FAILED_LIST, "resque:mail_failed", "resque:failed_queues"]);
    expected.extend(keys(&[FAILED, WORKER_FAILED, PROCESSED, WORKER_PROCESSED]));
    assert_eq!(r.keys(), expected);
}

/// The id Redis gives the client's connection.
fn connection_id(client: &Client) -> i64 {
    client.with_conn(|c| redis::cmd("CLIENT").arg("ID").query(c)).expect("CLIENT ID")
}

/// A job of about `size` bytes.
fn job_of(size: usize) -> String {
    format!(r#"{{"class":"A","args":["{}"]}}"#, "x".repeat(size))
}

#[test]
fn a_large_job_taken_lets_the_connection_and_its_buffer_go() {
    let (mut r, client) = TestRedis::start_with_client();
    let q = queues(&client, &["q"]);
    let command = command(&client, &taking(&q, 1, true), &[], None);
    r.exec(&["RPUSH", "resque:queue:q", &job_of(100)]);
    let before = connection_id(&client);
    assert!(matches!(step(&client, &command, &q), Ok(Took::Jobs(_))));
    assert_eq!(connection_id(&client), before, "a small job keeps the connection");
    let large = job_of(LARGE_REPLY);
    r.exec(&["RPUSH", "resque:queue:q", &large]);
    let Ok(Took::Jobs(jobs)) = step(&client, &command, &q) else { panic!("the large job is taken") };
    assert_eq!(jobs[0].raw, large.as_bytes());
    assert_ne!(connection_id(&client), before, "the next command opens a new connection");
}

#[test]
fn a_large_job_keeps_the_connection_while_replies_are_due() {
    let (mut r, client) = TestRedis::start_with_client();
    let q = queues(&client, &["q"]);
    let take = command(&client, &taking(&q, 1, true), &[], None);
    r.exec(&["RPUSH", "resque:queue:q", &job_of(LARGE_REPLY), P2]);
    // A step that takes nothing loads the script, which a step sent ahead does not.
    let none = command(&client, &taking(&Queues::NONE, 0, false), &[], None);
    assert!(matches!(step(&client, &none, &Queues::NONE), Ok(Took::Empty)));
    let before = connection_id(&client);
    let first = send_step(&client, &take).expect("sent");
    let second = send_step(&client, &take).expect("sent");
    let Ok(Took::Jobs(large)) = recv_step(&client, first, &q) else { panic!("the large job is taken") };
    assert!(large[0].raw.len() > LARGE_REPLY);
    // The second reply is still due on this connection: it is read there.
    let Ok(Took::Jobs(small)) = recv_step(&client, second, &q) else { panic!("the second job is taken") };
    assert_eq!(small[0].raw, P2.as_bytes());
    assert_eq!(connection_id(&client), before);
}

#[test]
fn a_large_payload_comes_back_once_inside_its_entry_byte_for_byte() {
    let (mut r, client) = TestRedis::start_with_client();
    let mut large = b"{\"class\":\"A\",\"args\":[\"/\\\"\x00\x01\x7f\xff\xfe\tcaf\xc3\xa9".to_vec();
    large.resize(64 * 1024, b'x');
    large.extend_from_slice(b"\"]}");
    let q = queues(&client, &["q"]);
    r.query::<()>(redis::cmd("RPUSH").arg("resque:queue:q").arg(&large).arg(&large));
    let reply = run(&mut r, &client, &taking(&q, 1, false), &[Redis]);
    let Value::Array(items) = reply else { panic!("{reply:?}") };
    assert_eq!(items.get(2), Some(&bulk("")), "no payload beside the entry");
    let Some(Value::BulkString(entry)) = items.get(3) else { panic!("{items:?}") };
    assert_eq!(InflightEntry::parse(entry).expect("an entry").payload, large);
    let command = command(&client, &taking(&q, 1, false), &[], None);
    let Ok(Took::Jobs(jobs)) = step(&client, &command, &q) else { panic!("the job is taken") };
    assert_eq!(jobs[0].raw, large);
    assert_eq!(InflightEntry::parse(&jobs[0].entry).expect("an entry").payload, large);
}
