// Hooks with the wrong signature, plugins that are not plugins, and keys
// that are not hooks: each error on its own token.
use resque::hooks::JobContext;

fn wrong_signature(job: &JobContext<'_>) -> bool {
    !job.args.is_empty()
}

fn page(job: &JobContext<'_>) {
    let _ = job;
}

struct NotAPlugin;

#[resque::job(queue = "q", before_perform = wrong_signature, on_failure = page, plugins(NotAPlugin))]
fn archive() {}

#[resque::job(queue = "q", before_perform = "check_lock", after_perform = |_| (), around_perform)]
fn values() {}

#[resque::job(queue = "q", plugins = NotAPlugin)]
fn plugins_value() {}

#[resque::job(queue = "q", plugins())]
fn empty_plugins() {}

#[resque::job(queue = "q", before_preform = wrong_signature)]
fn typo() {}

fn main() {}
