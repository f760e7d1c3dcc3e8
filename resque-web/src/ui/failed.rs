//! The failed list a Failed page or action works on: the default `failed`
//! list, or one `<queue>_failed` list of the multi-queue backend, by the
//! page's `list` parameter. Its errors become the web's through `?`
//! (`From<resque::Error>` for `ApiError` and `PageError`).

pub(crate) use resque::failure::FailedList;
