#[resque::job(queue = "q", cron = "61 * * * *")]
fn bad_minute() {}

#[resque::job(queue = "q", cron = "0 3 * *")]
fn four_fields() {}

#[resque::job(queue = "q", cron = "0 3 * * mon-funday")]
fn bad_weekday() {}

#[resque::job(queue = "q", cron = 3)]
fn not_a_string() {}

#[resque::job(queue = "q", cron = "0 3 * * *")]
fn needs_args(repo_id: u64) {}

#[resque::job(queue = "q", cron = "0 3 * * *", args = (1, "x"))]
fn too_many(repo_id: u64) {}

#[resque::job(queue = "q", args = (1,))]
fn args_without_cron(repo_id: u64) {}

#[resque::job(queue = "q", cron = "0 3 * * *", args = [1])]
fn args_not_a_tuple(repo_id: u64) {}

#[resque::job(queue = "q", cron = "0 3 * * *", args = ("x",))]
fn args_of_the_wrong_type(repo_id: u64) {}

#[resque::job(queue = "q", cron = "0 0 3 * * *")]
fn seconds_field() {}

fn main() {
    seconds_field();
    bad_minute();
    four_fields();
    bad_weekday();
    not_a_string();
    needs_args(1);
    too_many(1);
    args_without_cron(1);
    args_not_a_tuple(1);
}
