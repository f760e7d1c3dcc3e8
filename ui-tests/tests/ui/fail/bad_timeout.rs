#[resque::job(queue = "q", timeout = "30x")]
fn unknown_unit() {}

#[resque::job(queue = "q", timeout = "0s")]
fn zero() {}

#[resque::job(queue = "q", timeout = "")]
fn empty() {}

#[resque::job(queue = "q", timeout = 30)]
fn not_a_string() {}

#[resque::job(queue = "q", timeout = "s")]
fn missing_number() {}

#[resque::job(queue = "q", timeout = "30")]
fn missing_unit() {}

#[resque::job(queue = "q", timeout = "1h 30m")]
fn spaces() {}

#[resque::job(queue = "q", timeout = "1.5s")]
fn fraction() {}

#[resque::job(queue = "q", timeout = "99999999999999999999ms")]
fn overflow() {}

#[resque::job(queue = "q", timeout = "30s", timeout = "1m")]
fn duplicate() {}

#[resque::job(queue = "q", timeout("30s"))]
fn not_name_value() {}

fn main() {
    // The functions are kept, so using them is no further error.
    unknown_unit();
    zero();
    empty();
    not_a_string();
    missing_number();
    missing_unit();
    spaces();
    fraction();
    overflow();
    duplicate();
    not_name_value();
}
