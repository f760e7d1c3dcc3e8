//! The Stats tab: `Resque.info`, Redis `INFO`, the namespace's keys, one
//! key's contents and `/stats.txt`.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::pager;
use crate::api::ApiError;
use crate::read::{self, blocking, start_param, QueryResult, PER_PAGE};
use crate::ui::layout::{page, Tab};
use crate::ui::{encode, Ctx, PageError};

fn stats_nav(ctx: &Ctx, current: &str) -> Markup {
    html! {
        div.filters style="margin-bottom: 16px" {
            @for (path, label) in [("/stats", "resque"), ("/stats/redis", "redis"), ("/stats/keys", "keys"), ("/stats.txt", "stats.txt")] {
                a.btn.primary[path == current] href=(ctx.link(path)) { (label) }
            }
        }
    }
}

pub(crate) async fn stats(ctx: Ctx) -> Result<Response, PageError> {
    let (info, paused) = blocking(ctx.client(), read::info_and_paused).await?;
    let body = html! {
        h1 { "Stats" }
        p.sub { "Resque's own counters (" code { "Resque.info" } ")." }
        (stats_nav(&ctx, "/stats"))
        div.card data-live {
            div.card-head { h2 { "resque" } }
            table { tbody {
                tr { td { "environment" } td.num { (info.environment) } }
                tr { td { "failed" } td.num { (info.failed) } }
                tr { td { "pending" } td.num { (info.pending) } }
                tr { td { "processed" } td.num { (info.processed) } }
                tr { td { "queues" } td.num { (info.queues) } }
                tr { td { "servers" } td.num { (info.servers.join(", ")) } }
                tr { td { "workers" } td.num { (info.workers) } }
                tr { td { "working" } td.num { (info.working) } }
                tr { td { "paused" } td.num { (paused) } }
            } }
        }
    };
    Ok(page(&ctx, Tab::Stats, "Stats", true, body))
}

pub(crate) async fn stats_redis(ctx: Ctx) -> Result<Response, PageError> {
    let info = blocking(ctx.client(), |c| Ok(c.redis_info()?)).await?;
    let body = html! {
        h1 { "Stats: Redis" }
        p.sub { "The server's " code { "INFO" } " at " (ctx.state.client.address().to_string()) "." }
        (stats_nav(&ctx, "/stats/redis"))
        div.card {
            table { tbody {
                @for (k, v) in &info { tr { td.mono { (k) } td.num.mono { (v) } } }
            } }
        }
    };
    Ok(page(&ctx, Tab::Stats, "Redis", false, body))
}

pub(crate) async fn stats_keys(ctx: Ctx) -> Result<Response, PageError> {
    let keys = blocking(ctx.client(), |c| Ok(c.key_summaries(&c.keys_in_namespace()?)?)).await?;
    let body = html! {
        h1 { "Stats: keys" }
        p.sub { "Every key under the namespace " code { (ctx.state.client.namespace()) } "." }
        (stats_nav(&ctx, "/stats/keys"))
        div.card {
            div.card-head { h2 { (keys.len()) " keys" } }
            table {
                thead { tr { th { "Key" } th { "Type" } th.num { "Size" } } }
                tbody {
                    @for k in &keys {
                        tr {
                            td.mono { a href=(ctx.link(&format!("/stats/keys/{}", encode(&k.name)))) { (k.name) } }
                            td { (k.kind) }
                            td.num { (k.size) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, Tab::Stats, "Keys", false, body))
}

pub(crate) async fn stats_key(
    ctx: Ctx,
    Path(key): Path<String>,
    query: QueryResult,
) -> Result<Response, PageError> {
    let start = start_param(query)?;
    let contents = {
        let key = key.clone();
        blocking(ctx.client(), move |c| Ok(c.key_contents(&key, start, PER_PAGE)?)).await?
    };
    if contents.summary.kind == resque::inspect::KeyKind::None {
        return Err(PageError(ApiError::NotFound(format!("no key {key:?} under the namespace"))));
    }
    let path = format!("/stats/keys/{}", encode(&key));
    let total = match contents.summary.kind {
        resque::inspect::KeyKind::String => 1,
        _ => contents.summary.size,
    };
    let body = html! {
        h1 { "Key " code { (key) } }
        p.sub { (contents.summary.kind) ", size " (contents.summary.size) }
        (stats_nav(&ctx, ""))
        div.card {
            table {
                tbody {
                    @for (i, v) in contents.values.iter().enumerate() {
                        tr { td.num { (start + i) } td.args { (v) } }
                    }
                }
            }
            (pager(&ctx, &path, start, contents.values.len(), total))
        }
    };
    Ok(page(&ctx, Tab::Stats, &format!("Key {key}"), false, body))
}

/// A queue name as one line of `/stats.txt`: its bytes that are not UTF-8
/// are `\xNN` already (the client reads names with
/// [`resque::payload::escape_bytes`]); control characters and line
/// separators are written the same way, byte by byte, so that no name
/// starts a line of its own.
fn one_line(name: &str) -> std::borrow::Cow<'_, str> {
    let breaks = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    if !name.chars().any(breaks) {
        return name.into();
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if breaks(c) {
            let mut bytes = [0u8; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// `/stats.txt`, line for line as resque-web prints it.
pub(crate) async fn stats_txt(ctx: Ctx) -> Result<Response, PageError> {
    let text = blocking(ctx.client(), |c| {
        let read::Overview { info, queues, .. } = read::overview(c)?;
        let mut lines = vec![
            format!("resque.pending={}", info.pending),
            format!("resque.processed+={}", info.processed),
            format!("resque.failed+={}", info.failed),
            format!("resque.workers={}", info.workers),
            format!("resque.working={}", info.working),
        ];
        for (q, size) in queues {
            lines.push(format!("queues.{}={size}", one_line(&q)));
        }
        Ok(lines.join("\n"))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn names_stay_on_one_line() {
        assert_eq!(one_line("file_serve"), "file_serve");
        assert_eq!(one_line("a\nresque.fake=1"), "a\\x0aresque.fake=1");
        assert_eq!(one_line("a\r\u{85}\u{2028}b"), "a\\x0d\\xc2\\x85\\xe2\\x80\\xa8b");
    }
}
