//! Message attachments: the files of a multipart `POST /channels/{id}/messages`, stored
//! durably on the owner core before the message names them, and served back by
//! `GET /attachments/{channel_id}/{attachment_id}/{filename}` (Discord's CDN path).
//!
//! Flow of one upload (owner core, `messages.rs` `owner_create`, after the rules allowed it):
//! 1. `parse_upload` splits the body (`rest::multipart`): `payload_json` is the JSON body,
//!    every part with a filename is a file (`files[n]`: `n` matches the `id` of an entry in
//!    `payload_json.attachments`, which may give a `filename` and a `description`).
//! 2. `Attachments::store` gives each file a Snowflake, a sanitised name
//!    (`rest::multipart::sanitize_filename`: no path separators, no leading dot, so a name
//!    can never leave its directory), a content type (the part's, else guessed from the
//!    extension) and, for PNG and GIF, its pixel size; then writes it to
//!    `<data-dir>/attachments/<channel_id>/<attachment_id>/<filename>` and fsyncs the file
//!    and every directory it may have created.
//! 3. Only then is the message appended to the store, so a message that is acknowledged
//!    (durable) never names a missing file.
//!
//! Serving: no token (as Discord's CDN), but only with a valid, unexpired signature
//! (`?ex=…&is=…&hm=…&`, `world::attachment_url`; 404 otherwise, as Discord's CDN answers),
//! which every message JSON carries, signed when it is written. `Content-Type` as stored
//! (active types such as HTML, SVG or JavaScript are served as `text/plain` with `nosniff`,
//! so an upload cannot run script on this origin), 404 JSON for anything else. The request path must be
//! exactly what `store` produces (decimal ids, a sanitised name), so `..`, `%2e`, absolute
//! paths or hidden files never reach the file system.
//!
//! Deleting a message (or a bulk delete) removes its files once the delete is durable
//! (`remove`), so a deleted message's attachments are no longer served.
//!
//! Known gaps: the file writes and fsyncs, and the reads that serve a file, run on the
//! reactor thread (a few ms per file on an SSD; a busy core stalls that long). A failed
//! append after the files were written leaves orphan files (never named by a message).

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use snowflake::Generator;

use crate::http::Response;
use crate::rest::multipart::{
    boundary_of, is_multipart, is_sanitized, parse_multipart, sanitize_filename,
};
use crate::world::attachment_url::{UrlKey, UrlSigning};
use crate::world::message::Attachment;
use crate::world::ChannelId;
use crate::world::Refusal;
use crate::world::TokenSecret;

/// Most files in one message (Discord: 10).
pub const FILES_MAX: usize = 10;
/// Longest attachment description, in characters (Discord: 1024).
pub const DESCRIPTION_CHARS_MAX: usize = 1024;
/// Longest filename a client may give, in characters (Flux's own bound: the stored name
/// is shortened anyway, but the original becomes the attachment's `title` in every event,
/// which must stay far below a session's send window).
pub const FILENAME_CHARS_MAX: usize = 1024;
/// The sidecar file holding a stored file's content type. Sanitised names never start
/// with a dot, so it cannot collide with an upload.
const CONTENT_TYPE_FILE: &str = ".content-type";

/// Where one core stores and finds attachment files.
#[derive(Debug)]
pub(super) struct Attachments {
    /// `<data-dir>/attachments`.
    root: PathBuf,
    /// `http://HOST:PORT`, the origin of attachment URLs.
    base_url: String,
    /// What attachment URLs are signed with (`world::attachment_url`).
    url_key: UrlKey,
}

/// A create request's body, split: the JSON payload and the files.
#[derive(Debug)]
pub(super) struct Upload<'a> {
    /// The JSON body (the whole body when it is not multipart).
    pub payload: Cow<'a, [u8]>,
    /// The files, in `files[n]` order.
    pub files: Vec<UploadFile<'a>>,
}

/// One uploaded file.
#[derive(Debug)]
pub(super) struct UploadFile<'a> {
    /// `n` of `files[n]` (or the file's position when the name has no index).
    index: u64,
    filename: String,
    content_type: Option<String>,
    data: &'a [u8],
}

/// Splits a create body. A non-multipart body is all payload; a multipart one must parse.
pub(super) fn parse_upload<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
) -> Result<Upload<'a>, Refusal> {
    let Some(content_type) = content_type.filter(|value| is_multipart(value)) else {
        return Ok(Upload {
            payload: Cow::Borrowed(body),
            files: Vec::new(),
        });
    };
    let invalid = |message: String| Refusal::InvalidFormBody {
        field: "files",
        code: "BASE_TYPE_BAD_MULTIPART",
        message,
    };
    let boundary = boundary_of(content_type).map_err(|error| invalid(error.to_string()))?;
    let parts = parse_multipart(body, &boundary).map_err(|error| invalid(error.to_string()))?;
    let mut payload: Cow<'a, [u8]> = Cow::Borrowed(b"{}");
    let mut files = Vec::new();
    for part in parts {
        if part.name == "payload_json" && part.filename.is_none() {
            payload = Cow::Borrowed(part.data);
            continue;
        }
        let Some(filename) = part.filename else {
            continue; // another form field: Flux reads the body from payload_json only
        };
        let index = part
            .name
            .strip_prefix("files[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|digits| digits.parse::<u64>().ok())
            .unwrap_or(files.len() as u64);
        files.push(UploadFile {
            index,
            filename,
            content_type: part.content_type,
            data: part.data,
        });
    }
    if files.len() > FILES_MAX {
        return Err(Refusal::InvalidFormBody {
            field: "files",
            code: "BASE_TYPE_MAX_LENGTH",
            message: format!("Must be {FILES_MAX} or fewer in length."),
        });
    }
    files.sort_by_key(|file| file.index);
    Ok(Upload { payload, files })
}

/// What `payload_json.attachments[]` says about the file with `id` = index.
#[derive(Debug, Default)]
struct AttachmentMeta {
    filename: Option<String>,
    description: Option<String>,
}

/// Reads `attachments` from the payload (absent or null: nothing). Entries without a
/// numeric `id` are ignored (Discord uses them to keep existing attachments on edit).
fn attachment_meta(payload: &[u8], index: u64) -> Result<AttachmentMeta, Refusal> {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(payload) else {
        return Ok(AttachmentMeta::default()); // parse_create reports the JSON error
    };
    let Some(serde_json::Value::Array(entries)) = object.get("attachments") else {
        return Ok(AttachmentMeta::default());
    };
    for entry in entries {
        let id = match entry.get("id") {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(text)) => text.parse::<u64>().ok(),
            _ => None,
        };
        if id != Some(index) {
            continue;
        }
        // A string member of at most `max` characters (absent or not a string: `None`).
        let text = |name: &str, max: usize| match entry.get(name).and_then(|v| v.as_str()) {
            Some(text) if text.chars().count() > max => Err(Refusal::InvalidFormBody {
                field: "attachments",
                code: "BASE_TYPE_MAX_LENGTH",
                message: format!("Must be {max} or fewer in length."),
            }),
            text => Ok(text.map(str::to_string)),
        };
        let description = text("description", DESCRIPTION_CHARS_MAX)?;
        let filename = text("filename", FILENAME_CHARS_MAX)?;
        return Ok(AttachmentMeta {
            filename,
            description,
        });
    }
    Ok(AttachmentMeta::default())
}

impl Attachments {
    /// The attachment store under `data_dir`, with URLs on the origin of `gateway_url`
    /// (`ws://HOST:PORT` becomes `http://HOST:PORT`).
    pub(super) fn new(data_dir: &Path, gateway_url: &str, secret: &TokenSecret) -> Attachments {
        let origin = gateway_url
            .strip_prefix("wss://")
            .map(|rest| format!("https://{rest}"))
            .or_else(|| {
                gateway_url
                    .strip_prefix("ws://")
                    .map(|rest| format!("http://{rest}"))
            })
            .unwrap_or_else(|| gateway_url.to_string());
        Attachments {
            root: data_dir.join("attachments"),
            base_url: origin.trim_end_matches('/').to_string(),
            url_key: UrlKey::from_secret(secret),
        }
    }

    /// Signs attachment URLs at `now_unix_ms`, for a message's JSON.
    pub(super) fn signing(&self, now_unix_ms: u64) -> UrlSigning<'_> {
        UrlSigning {
            key: &self.url_key,
            now_s: now_unix_ms / 1000,
        }
    }

    /// Names, writes and fsyncs every file of `upload`; returns the attachment objects in
    /// order. Ids come from `ids` (the owner core's generator), so they are Snowflakes
    /// older than the message that names them.
    pub(super) fn store(
        &self,
        upload: &Upload<'_>,
        channel_id: ChannelId,
        ids: &mut Generator,
        now_unix_ms: u64,
    ) -> Result<Vec<Attachment>, Refusal> {
        let mut attachments = Vec::with_capacity(upload.files.len());
        for file in &upload.files {
            let meta = attachment_meta(&upload.payload, file.index)?;
            let id = ids
                .next(now_unix_ms)
                .map_err(|_| Refusal::StoreFailed)?
                .get();
            let original = meta.filename.unwrap_or_else(|| file.filename.clone());
            let filename = sanitize_filename(&original);
            let title = (filename != original).then(|| {
                original
                    .rsplit_once('.')
                    .map_or(original.as_str(), |(stem, _)| stem)
                    .to_string()
            });
            let content_type = content_type_of(&filename, file.content_type.as_deref());
            let (width, height) = match content_type.as_deref() {
                Some(media) if media.starts_with("image/") => {
                    image_size(file.data).map_or((None, None), |(w, h)| (Some(w), Some(h)))
                }
                _ => (None, None),
            };
            self.write_file(
                channel_id,
                id,
                &filename,
                content_type.as_deref(),
                file.data,
            )
            .map_err(|error| {
                eprintln!("flux: attachment {id} in channel {}: {error}", channel_id.0);
                Refusal::StoreFailed
            })?;
            let url = format!(
                "{}/attachments/{}/{id}/{filename}",
                self.base_url, channel_id.0
            );
            attachments.push(Attachment {
                id,
                filename,
                size: file.data.len() as u64,
                url: url.clone(),
                proxy_url: url,
                content_type,
                description: meta.description,
                title,
                width,
                height,
            });
        }
        Ok(attachments)
    }

    /// Writes one file and its content type, then fsyncs them and the directories that
    /// hold them (up to the data dir), so the names survive a crash too.
    fn write_file(
        &self,
        channel_id: ChannelId,
        id: u64,
        filename: &str,
        content_type: Option<&str>,
        data: &[u8],
    ) -> std::io::Result<()> {
        debug_assert!(is_sanitized(filename), "store sanitises every name");
        let channel_dir = self.root.join(channel_id.0.to_string());
        let dir = channel_dir.join(id.to_string());
        std::fs::create_dir_all(&dir)?;
        write_synced(&dir.join(filename), data)?;
        if let Some(content_type) = content_type {
            write_synced(&dir.join(CONTENT_TYPE_FILE), content_type.as_bytes())?;
        }
        for directory in [
            Some(dir.as_path()),
            Some(channel_dir.as_path()),
            Some(self.root.as_path()),
            self.root.parent(),
        ]
        .into_iter()
        .flatten()
        {
            std::fs::File::open(directory)?.sync_all()?;
        }
        Ok(())
    }

    /// Removes attachment `attachment_id` of channel `channel_id` from disk (its message
    /// was deleted, durably). A file already gone is fine; another failure is logged and
    /// leaves an unnamed file behind.
    pub(super) fn remove(&self, channel_id: ChannelId, attachment_id: u64) {
        let dir = self
            .root
            .join(channel_id.0.to_string())
            .join(attachment_id.to_string());
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => eprintln!("flux: removing {}: {error}", dir.display()),
        }
    }

    /// `GET /attachments/…` (no `/api` prefix, no token): the file, or `None` when `path`
    /// is not under `/attachments/`. Without a valid signature in `query` that is unexpired
    /// at `now_unix_ms`, 404, as Discord's CDN answers an expired or forged URL.
    pub(super) fn serve(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        now_unix_ms: u64,
    ) -> Option<Response> {
        let rest = path.strip_prefix("/attachments/")?;
        if method != "GET" {
            return Some(Response::error(405, "405: Method Not Allowed", 0));
        }
        let signed =
            query.is_some_and(|query| self.url_key.verify(path, query, now_unix_ms / 1000));
        if !signed {
            return Some(Response::not_found());
        }
        let found = (|| {
            let [channel, id, filename] =
                <[&str; 3]>::try_from(rest.split('/').collect::<Vec<_>>()).ok()?;
            let decimal = |text: &str| {
                (!text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| text.parse::<u64>().ok())
                    .flatten()
            };
            let (channel, id) = (decimal(channel)?, decimal(id)?);
            if !is_sanitized(filename) {
                return None;
            }
            let dir = self.root.join(channel.to_string()).join(id.to_string());
            // Opened here, read by the reactor in pieces as the socket takes them.
            let file = crate::http::FileBody::open(&dir.join(filename)).ok()?;
            let stored_type = std::fs::read_to_string(dir.join(CONTENT_TYPE_FILE)).ok();
            Some((file, stored_type))
        })();
        let Some((file, stored_type)) = found else {
            return Some(Response::not_found());
        };
        let content_type = served_content_type(stored_type.as_deref());
        Some(Response {
            status: 200,
            headers: vec![
                ("Content-Type".into(), content_type),
                ("X-Content-Type-Options".into(), "nosniff".to_string()),
                (
                    "Cache-Control".into(),
                    "public, max-age=31536000".to_string(),
                ),
            ],
            body: Vec::new(),
            file: Some(file),
        })
    }
}

fn write_synced(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(data)?;
    file.sync_all()
}

/// The content type to store: the sender's, unless it is the generic
/// `application/octet-stream` (discord.py always sends that) and the extension says more.
fn content_type_of(filename: &str, declared: Option<&str>) -> Option<String> {
    let declared = declared
        .map(str::trim)
        .filter(|value| !value.is_empty() && value.len() <= 255 && value.is_ascii())
        .filter(|value| !value.chars().any(|c| c.is_ascii_control()));
    let guessed = guess_content_type(filename);
    match declared {
        Some(value) if !value.eq_ignore_ascii_case("application/octet-stream") => {
            Some(value.to_string())
        }
        declared => guessed
            .map(str::to_string)
            .or_else(|| declared.map(str::to_string)),
    }
}

/// Discord's media types for common extensions (its CDN adds `charset=utf-8` to text).
fn guess_content_type(filename: &str) -> Option<&'static str> {
    let extension = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        _ => return None,
    })
}

/// What a stored type is served as: types a browser would run (HTML, XML, SVG, script)
/// become plain text, as Discord's CDN does.
fn served_content_type(stored: Option<&str>) -> String {
    let Some(stored) = stored.map(str::trim).filter(|value| !value.is_empty()) else {
        return "application/octet-stream".to_string();
    };
    let lower = stored.to_ascii_lowercase();
    let active = ["html", "xml", "svg", "javascript", "ecmascript"]
        .iter()
        .any(|word| lower.contains(word));
    if active {
        "text/plain; charset=utf-8".to_string()
    } else {
        stored.to_string()
    }
}

/// Width and height of a PNG (IHDR) or GIF (logical screen) image; `None` otherwise.
fn image_size(data: &[u8]) -> Option<(u32, u32)> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if data.starts_with(PNG) && data.get(12..16) == Some(b"IHDR") {
        let width = u32::from_be_bytes(data.get(16..20)?.try_into().ok()?);
        let height = u32::from_be_bytes(data.get(20..24)?.try_into().ok()?);
        return Some((width, height));
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        let width = u16::from_le_bytes(data.get(6..8)?.try_into().ok()?);
        let height = u16::from_le_bytes(data.get(8..10)?.try_into().ok()?);
        return Some((u32::from(width), u32::from(height)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_split_into_payload_and_ordered_files() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"files[1]\"; filename=\"two.txt\"\r\n\r\n2\r\n\
            --b\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"c\"}\r\n\
            --b\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"one.txt\"\r\n\r\n1\r\n--b--";
        let upload = parse_upload(Some("multipart/form-data; boundary=b"), body).unwrap();
        assert_eq!(&*upload.payload, b"{\"content\":\"c\"}");
        let names: Vec<&str> = upload.files.iter().map(|f| f.filename.as_str()).collect();
        assert_eq!(names, ["one.txt", "two.txt"]);
        let plain = parse_upload(Some("application/json"), b"{}").unwrap();
        assert!(plain.files.is_empty());
        assert!(parse_upload(Some("multipart/form-data; boundary=b"), b"junk").is_err());
    }

    /// A description or a client-given filename past its limit is 50035 naming
    /// `attachments`; at the limit both are kept.
    #[test]
    fn description_and_filename_have_limits() {
        let meta = |description: usize, filename: usize| {
            let payload = serde_json::json!({"attachments": [{
                "id": 0,
                "description": "d".repeat(description),
                "filename": "f".repeat(filename),
            }]});
            attachment_meta(payload.to_string().as_bytes(), 0)
        };
        let kept = meta(DESCRIPTION_CHARS_MAX, FILENAME_CHARS_MAX).expect("at the limits");
        assert_eq!(kept.filename.map(|f| f.len()), Some(FILENAME_CHARS_MAX));
        for (description, filename) in [
            (DESCRIPTION_CHARS_MAX + 1, 1),
            (1, FILENAME_CHARS_MAX + 1),
            (1, 10 << 20),
        ] {
            let Err(error) = meta(description, filename) else {
                panic!("accepted {description}/{filename}")
            };
            let body: serde_json::Value = serde_json::from_slice(&error.body()).unwrap();
            assert_eq!(body["code"], 50035);
            assert_eq!(
                body["errors"]["attachments"]["_errors"][0]["code"],
                "BASE_TYPE_MAX_LENGTH"
            );
        }
    }

    #[test]
    fn content_types_and_sizes() {
        assert_eq!(
            content_type_of("a.png", Some("application/octet-stream")).as_deref(),
            Some("image/png")
        );
        assert_eq!(
            content_type_of("a.bin", Some("application/octet-stream")).as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(content_type_of("a.bin", None), None);
        assert_eq!(
            content_type_of("a.txt", Some("text/x-rust")).as_deref(),
            Some("text/x-rust")
        );
        assert_eq!(
            served_content_type(Some("text/html")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            served_content_type(Some("image/svg+xml")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(served_content_type(None), "application/octet-stream");
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480)));
        assert_eq!(image_size(b"GIF89a\x02\x00\x03\x00"), Some((2, 3)));
        assert_eq!(image_size(b"\x89PNG"), None);
    }

    #[test]
    fn serve_refuses_anything_store_would_not_write() {
        let dir = std::env::temp_dir().join(format!("flux-attach-{}", std::process::id()));
        let attachments = Attachments::new(&dir, "ws://127.0.0.1:1", &TokenSecret([5; 32]));
        const NOW_MS: u64 = 1_800_000_000_000;
        // Each path with a valid signature, so only the path decides.
        let serve_signed = |method: &str, path: &str| {
            let signed = attachments
                .url_key
                .sign(&format!("http://h{path}"), NOW_MS / 1000);
            let query = signed.split_once('?').map(|(_, query)| query.to_string());
            attachments.serve(method, path, query.as_deref(), NOW_MS)
        };
        assert_eq!(attachments.base_url, "http://127.0.0.1:1");
        let mut ids = Generator::new(0, 0).unwrap();
        let upload = Upload {
            payload: Cow::Borrowed(br#"{"attachments":[{"id":0,"description":"d"}]}"#),
            files: vec![UploadFile {
                index: 0,
                filename: "../x y.txt".into(),
                content_type: None,
                data: b"hello",
            }],
        };
        let stored = attachments
            .store(&upload, ChannelId(7), &mut ids, 1_800_000_000_000)
            .unwrap();
        assert_eq!(stored[0].filename, "x_y.txt");
        assert_eq!(stored[0].title.as_deref(), Some("../x y"));
        assert_eq!(stored[0].description.as_deref(), Some("d"));
        let path = format!("/attachments/7/{}/x_y.txt", stored[0].id);
        assert!(stored[0].url.ends_with(&path));
        let served = serve_signed("GET", &path).unwrap();
        assert_eq!(served.status, 200);
        let file = served
            .file
            .as_ref()
            .expect("served from the file, in pieces");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &*file.file, &mut bytes).unwrap();
        assert_eq!((file.len, bytes.as_slice()), (5, &b"hello"[..]));
        assert!(served.body.is_empty());
        assert_eq!(served.headers[0].1, "text/plain; charset=utf-8");
        for bad in [
            format!("/attachments/7/{}/../x_y.txt", stored[0].id),
            format!("/attachments/7/{}/.content-type", stored[0].id),
            format!("/attachments/7/{}/x_y.txt/", stored[0].id),
            format!("/attachments/7/{}/%2e%2e", stored[0].id),
            "/attachments/7/../../etc/passwd".to_string(),
            "/attachments/-1/1/x".to_string(),
        ] {
            assert_eq!(serve_signed("GET", &bad).unwrap().status, 404, "{bad}");
        }
        assert_eq!(serve_signed("POST", &path).unwrap().status, 405);
        assert!(serve_signed("GET", "/api/v10/gateway").is_none());
        // Unsigned, or signed and expired: 404, as Discord's CDN.
        let unsigned = attachments.serve("GET", &path, None, NOW_MS).unwrap();
        assert_eq!(unsigned.status, 404);
        let signed = attachments.url_key.sign(&stored[0].url, NOW_MS / 1000);
        let query = signed.split_once('?').unwrap().1;
        let day_later_ms = NOW_MS + 25 * 3600 * 1000;
        let expired = attachments.serve("GET", &path, Some(query), day_later_ms);
        assert_eq!(expired.unwrap().status, 404);
        let fresh = attachments.serve("GET", &path, Some(query), NOW_MS + 3600 * 1000);
        assert_eq!(fresh.unwrap().status, 200);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
