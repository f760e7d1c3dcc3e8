//! Parameters may take any name, even ones the generated code uses.
#![deny(missing_docs, warnings)]

use resque::__private::serde_json;

#[resque::job(queue = "q")]
fn odd_names(client: String, args: u64, class: String, queue: Vec<u8>, enqueue: bool, r#type: char) {
    let _ = (client, args, class, queue, enqueue, r#type);
}

/// A type of the user's own called `Args`, which the generated module must
/// not mistake for its own `Args`.
#[derive(resque::__private::serde::Serialize, resque::__private::serde::Deserialize)]
#[serde(crate = "resque::__private::serde")]
pub struct Args {
    /// Something.
    pub n: u8,
}

#[resque::job(queue = "q")]
fn takes_args(args: Args, more: Vec<Args>) {
    let _ = (args, more);
}

#[allow(dead_code)]
fn enqueue_them(client: &resque::Client) -> Result<(), resque::Error> {
    odd_names::enqueue_to(client, "c", 1, "class", vec![1], true, 't')?;
    takes_args::enqueue(Args { n: 1 }, vec![])
}

fn main() {
    let args = odd_names::Args {
        client: "c".into(),
        args: 1,
        class: "k".into(),
        queue: vec![2],
        enqueue: true,
        r#type: 't',
    };
    assert_eq!(serde_json::to_string(&args).unwrap(), r#"["c",1,"k",[2],true,"t"]"#);

    let args = takes_args::Args { args: Args { n: 1 }, more: vec![Args { n: 2 }] };
    assert_eq!(serde_json::to_string(&args).unwrap(), r#"[{"n":1},[{"n":2}]]"#);
    let _ = enqueue_them;
}
