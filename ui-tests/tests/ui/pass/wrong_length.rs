//! Arguments of the wrong length do not decode, and say what was expected.
#![deny(missing_docs, warnings)]

use resque::__private::{serde_json, Value};

#[resque::job(queue = "file_serve")]
fn archive(repo_id: u64, branch: String) {
    let _ = (repo_id, branch);
}

fn decode(json: &str) -> Result<archive::Args, String> {
    let value: Value = serde_json::from_str(json).unwrap();
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn main() {
    let args = decode(r#"[44,"masterbrew"]"#).unwrap();
    assert_eq!((args.repo_id, args.branch.as_str()), (44, "masterbrew"));

    assert_eq!(decode("[44]").err().unwrap(), "invalid length 1, expected 2 arguments");
    assert_eq!(decode("[]").err().unwrap(), "invalid length 0, expected 2 arguments");
    assert_eq!(decode(r#"[44,"masterbrew",1,2]"#).err().unwrap(), "invalid length 4, expected 2 arguments");
    // A value that does not fit names its argument, from 1.
    assert_eq!(
        decode(r#"["masterbrew",44]"#).err().unwrap(),
        "argument 1 (repo_id): invalid type: string \"masterbrew\", expected u64"
    );
    assert_eq!(
        decode(r#"[44,1.0e+20]"#).err().unwrap(),
        "argument 2 (branch): invalid type: floating point `1e+20`, expected a string"
    );
    assert!(decode(r#"{"repo_id":44,"branch":"masterbrew"}"#).is_err());

    // What a worker sees: a failure naming the class.
    let registry = resque::Registry::linked().unwrap();
    let perform = registry.get("Archive").unwrap().perform;
    let failure = perform(vec![Value::from(44)]).unwrap_err();
    assert_eq!(failure.exception, "ArgumentError");
    assert_eq!(failure.error, "arguments do not fit job Archive: invalid length 1, expected 2 arguments");
}
