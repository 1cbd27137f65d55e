//! Message attachments end to end on two cores: a multipart `POST …/messages` with
//! `payload_json` and two `files[n]` parts (as discord.py sends it) is answered with full
//! Discord attachment objects (checked with twilight-model's strict `Message`), the files
//! are served back byte-identical by `GET /attachments/…` with their Content-Type and
//! Content-Length, MESSAGE_CREATE carries them (and drops them without MESSAGE_CONTENT),
//! traversal attempts never leave the attachment directory, an oversized upload is 413
//! code 40005, and everything survives a restart on the same data dir.

mod support;

use serde_json::{json, Value};
use support::gateway::{Gateway, INTENTS_DEFAULT};
use support::rest::call;
use support::{assert_error, start_flux, HttpClient, HttpResponse};

const MESSAGE_CONTENT: u64 = 1 << 15;
const UPLOAD_BYTES_MAX: usize = 256 * 1024;

struct File<'a> {
    field: &'a str,
    filename: &'a str,
    content_type: &'a str,
    data: &'a [u8],
}

fn multipart(boundary: &str, payload: &Value, files: &[File<'_>]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\
         Content-Type: application/json\r\n\r\n{payload}\r\n"
    )
    .into_bytes();
    for file in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n\
                 Content-Type: {}\r\n\r\n",
                file.field, file.filename, file.content_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(file.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

fn post_multipart(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    boundary: &str,
    body: &[u8],
) -> HttpResponse {
    let mut http = HttpClient::new(addr);
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: flux\r\nAuthorization: Bot {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    http.send(&request);
    http.read_response().expect("a response")
}

fn get(addr: std::net::SocketAddr, path: &str) -> HttpResponse {
    let mut http = HttpClient::new(addr);
    http.send(format!("GET {path} HTTP/1.1\r\nHost: flux\r\n\r\n").as_bytes());
    http.read_response().expect("a response")
}

/// A 3×2 PNG header followed by bytes of every value (not a decodable image; Flux only
/// reads the size).
fn png_bytes() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&3u32.to_be_bytes());
    png.extend_from_slice(&2u32.to_be_bytes());
    png.extend((0..=255u8).cycle().take(70_000));
    png
}

fn path_of(url: &str) -> &str {
    let rest = url.strip_prefix("http://").expect("an http URL");
    &rest[rest.find('/').unwrap()..]
}

fn attachments_stored_served_dispatched_and_durable(io: engine::IoBackend) {
    let data_dir = std::env::temp_dir().join(format!(
        "flux-attachments-{}-{io:?}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let adjust = |config: &mut engine::Config| {
        config.limits.rest_rate_limits = false;
        config.limits.http.multipart_body_bytes_max = UPLOAD_BYTES_MAX;
        config.data_dir = data_dir.clone();
        config.remove_data_dir_on_shutdown = false;
    };
    let server = start_flux(io, adjust);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let channel = &boot.text_channel_id;
    let messages = format!("/api/v10/channels/{channel}/messages");

    let (mut gateway_a, _) = Gateway::connect(addr);
    gateway_a.identify_ready(token_a, INTENTS_DEFAULT | MESSAGE_CONTENT, 1);
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(token_b, INTENTS_DEFAULT, 1);

    let text = "hello, attachment\r\n--not-the-boundary\r\nline 3\n".as_bytes();
    let png = png_bytes();
    let payload = json!({
        "content": "two files",
        "attachments": [
            {"id": 0, "filename": "hello.txt", "description": "a greeting"},
            {"id": 1, "filename": "pic.png"},
        ],
    });
    let boundary = "flux-test-boundary-7d1e";
    let body = multipart(
        boundary,
        &payload,
        &[
            File {
                field: "files[0]",
                filename: "hello.txt",
                content_type: "application/octet-stream",
                data: text,
            },
            File {
                field: "files[1]",
                filename: "pic.png",
                content_type: "application/octet-stream",
                data: &png,
            },
        ],
    );
    let created = post_multipart(addr, &messages, token_a, boundary, &body);
    assert_eq!(created.status, 200, "{created:?}");
    let message = created.json();
    let strict: twilight_model::channel::Message =
        serde_json::from_value(message.clone()).expect("a strict twilight Message");
    assert_eq!(strict.content, "two files");
    assert_eq!(strict.attachments.len(), 2);
    let (first, second) = (&strict.attachments[0], &strict.attachments[1]);
    assert_eq!(first.filename, "hello.txt");
    assert_eq!(first.description.as_deref(), Some("a greeting"));
    assert_eq!(first.size, text.len() as u64);
    assert_eq!(
        first.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!((first.width, first.height), (None, None));
    assert_eq!(second.filename, "pic.png");
    assert_eq!(second.content_type.as_deref(), Some("image/png"));
    assert_eq!((second.width, second.height), (Some(3), Some(2)));
    assert_eq!(second.size, png.len() as u64);
    let raw = &message["attachments"][0];
    for field in [
        "id",
        "url",
        "proxy_url",
        "ephemeral",
        "flags",
        "height",
        "width",
    ] {
        assert!(raw.get(field).is_some(), "{field} in {raw}");
    }
    assert_eq!(raw["ephemeral"], false);
    assert_eq!(raw["flags"], 0);
    let message_id = message["id"].as_str().unwrap().to_string();
    let origin = format!("http://{addr}/attachments/{channel}/");
    for (attachment, bytes, content_type) in [
        (first, text, "text/plain; charset=utf-8"),
        (second, png.as_slice(), "image/png"),
    ] {
        assert!(attachment.url.starts_with(&origin), "{}", attachment.url);
        assert_eq!(attachment.url, attachment.proxy_url);
        assert!(attachment.id.get() < message_id.parse::<u64>().unwrap());
        let served = get(addr, path_of(&attachment.url));
        assert_eq!(served.status, 200, "{served:?}");
        assert_eq!(served.body, bytes, "byte-identical");
        assert_eq!(served.header("content-type"), Some(content_type));
        assert_eq!(
            served.header("content-length"),
            Some(bytes.len().to_string().as_str())
        );
    }

    // URLs are signed as Discord's CDN signs them, and only a valid signature serves.
    let url = first.url.as_str();
    let (path, query) = path_of(url).split_once('?').expect("a signed URL");
    let params: Vec<(&str, &str)> = query
        .trim_end_matches('&')
        .split('&')
        .map(|pair| pair.split_once('=').expect("name=value"))
        .collect();
    let names: Vec<&str> = params.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["ex", "is", "hm"], "{url}");
    let hex = |text: &str| u64::from_str_radix(text, 16).expect("hex seconds");
    let (expires, issued) = (hex(params[0].1), hex(params[1].1));
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(expires - issued, 24 * 3600, "a day, as on Discord");
    assert!(issued <= now_s && now_s < expires, "{url}");
    assert_eq!(params[2].1.len(), 64, "HMAC-SHA256 in hex");
    assert!(query.ends_with('&'), "{url}");
    let forged_mac = {
        let mac = params[2].1;
        let flipped = if mac.starts_with('0') { "1" } else { "0" };
        format!(
            "ex={}&is={}&hm={flipped}{}&",
            params[0].1,
            params[1].1,
            &mac[1..]
        )
    };
    let longer = format!(
        "ex={:x}&is={}&hm={}&",
        expires + 3600,
        params[1].1,
        params[2].1
    );
    let other_file = path_of(&second.url).split_once('?').unwrap().0;
    for unsigned in [
        path.to_string(),
        format!("{path}?"),
        format!("{path}?{forged_mac}"),
        format!("{path}?{longer}"),
        format!("{other_file}?{query}"),
    ] {
        assert_error(&get(addr, &unsigned), 404, 0);
    }

    // POST /attachments/refresh-urls signs this server's URLs afresh (here within the
    // same hour, so the same URL) and leaves any other URL as it was.
    let refresh = "/api/v10/attachments/refresh-urls";
    let unsigned_url = url.split_once('?').unwrap().0;
    let body = json!({ "attachment_urls": [url, unsigned_url, "https://example.com/x"] });
    let refreshed = call(addr, "POST", refresh, token_a, Some(&body));
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    assert_eq!(
        refreshed.json(),
        json!({ "refreshed_urls": [
            { "original": url, "refreshed": url },
            { "original": unsigned_url, "refreshed": unsigned_url },
            { "original": "https://example.com/x", "refreshed": "https://example.com/x" },
        ] })
    );
    assert_error(
        &call(addr, "POST", refresh, "not-a-token", Some(&body)),
        401,
        0,
    );
    let missing = call(addr, "POST", refresh, token_a, Some(&json!({})));
    assert_error(&missing, 400, 50035);
    let too_many = json!({ "attachment_urls": vec![url; 51] });
    assert_error(
        &call(addr, "POST", refresh, token_a, Some(&too_many)),
        400,
        50035,
    );
    let not_strings = json!({ "attachment_urls": [1, 2] });
    assert_error(
        &call(addr, "POST", refresh, token_a, Some(&not_strings)),
        400,
        50035,
    );

    // The gateway: A (MESSAGE_CONTENT) sees the attachments, B does not.
    let seen_by_a = gateway_a.recv_named("MESSAGE_CREATE");
    assert_eq!(seen_by_a["d"]["attachments"], message["attachments"]);
    let seen_by_b = gateway_b.recv_named("MESSAGE_CREATE");
    assert_eq!(seen_by_b["d"]["id"], message_id.as_str());
    assert_eq!(
        seen_by_b["d"]["attachments"],
        json!([]),
        "no MESSAGE_CONTENT"
    );

    // A file alone is a message; a hostile name is sanitised and keeps its title.
    let evil = multipart(
        boundary,
        &json!({}),
        &[File {
            field: "files[0]",
            filename: "../../../bootstrap.json",
            content_type: "text/html",
            data: b"<script>alert(1)</script>",
        }],
    );
    let sanitised = post_multipart(addr, &messages, token_a, boundary, &evil);
    assert_eq!(sanitised.status, 200, "{sanitised:?}");
    let attachment = sanitised.json()["attachments"][0].clone();
    assert_eq!(attachment["filename"], "bootstrap.json");
    assert_eq!(attachment["title"], "../../../bootstrap");
    let served = get(addr, path_of(attachment["url"].as_str().unwrap()));
    assert_eq!(served.body, b"<script>alert(1)</script>");
    assert_eq!(
        served.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    let real_bootstrap = std::fs::read(data_dir.join("bootstrap.json")).unwrap();
    assert!(real_bootstrap.starts_with(b"{"), "bootstrap.json untouched");
    let attachment_id = attachment["id"].as_str().unwrap();
    for bad in [
        format!("/attachments/{channel}/{attachment_id}/../../../bootstrap.json"),
        format!("/attachments/{channel}/{attachment_id}/..%2F..%2F..%2Fbootstrap.json"),
        format!("/attachments/{channel}/{attachment_id}/.content-type"),
        format!("/attachments/{channel}/../../bootstrap.json"),
        "/attachments/../bootstrap.json".to_string(),
        format!("/attachments/{channel}/{attachment_id}/missing.txt"),
    ] {
        let answer = get(addr, &bad);
        assert_error(&answer, 404, 0);
    }

    // Bad multipart and oversized uploads.
    let broken = post_multipart(addr, &messages, token_a, boundary, b"no delimiter at all");
    assert_error(&broken, 400, 50035);
    let mut http = HttpClient::new(addr);
    http.send(
        format!(
            "POST {messages} HTTP/1.1\r\nHost: flux\r\nAuthorization: Bot {token_a}\r\n\
             Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
            UPLOAD_BYTES_MAX + 1
        )
        .as_bytes(),
    );
    let too_large = http.read_response().expect("an answer before the body");
    assert_error(&too_large, 413, 40005);

    // Restart on the same data dir: the message still names the files, which still serve.
    drop((gateway_a, gateway_b));
    server.shutdown().unwrap();
    let restarted = start_flux(io, adjust);
    let addr = restarted.local_addr();
    let again = call(
        addr,
        "GET",
        &format!("{messages}/{message_id}"),
        token_a,
        None,
    );
    assert_eq!(again.status, 200, "{again:?}");
    // The same attachments, their URLs signed afresh when read (the same within the
    // hour), so they serve.
    let unsigned = |attachments: &Value| {
        let mut attachments = attachments.clone();
        for attachment in attachments.as_array_mut().unwrap() {
            for field in ["url", "proxy_url"] {
                let url = attachment[field].as_str().unwrap();
                attachment[field] = url.split_once('?').unwrap().0.into();
            }
        }
        attachments
    };
    let read = again.json()["attachments"].clone();
    assert_eq!(unsigned(&read), unsigned(&message["attachments"]));
    for (attachment, bytes) in [(&read[0], text), (&read[1], png.as_slice())] {
        let served = get(addr, path_of(attachment["url"].as_str().unwrap()));
        assert_eq!(served.status, 200);
        assert_eq!(served.body, bytes);
    }
    restarted.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}

both_backends!(
    multipart_attachments_round_trip,
    attachments_stored_served_dispatched_and_durable
);

/// A deleted message's files are removed once the delete is durable: its attachment URL
/// answers 404 (one message deleted alone, two more in a bulk delete).
fn a_deleted_messages_files_are_no_longer_served(io: engine::IoBackend) {
    let server = start_flux(io, |config| {
        config.limits.rest_rate_limits = false;
        config.limits.http.multipart_body_bytes_max = UPLOAD_BYTES_MAX;
    });
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    let boundary = "flux-delete-boundary";
    let mut sent = Vec::new();
    for n in 0..3 {
        let payload = json!({ "content": format!("file {n}") });
        let data = format!("contents {n}");
        let body = multipart(
            boundary,
            &payload,
            &[File {
                field: "files[0]",
                filename: "note.txt",
                content_type: "text/plain",
                data: data.as_bytes(),
            }],
        );
        let created = post_multipart(addr, &messages, token, boundary, &body);
        assert_eq!(created.status, 200, "{created:?}");
        let message = created.json();
        let url = message["attachments"][0]["url"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(get(addr, path_of(&url)).status, 200);
        sent.push((message["id"].as_str().unwrap().to_string(), url));
    }
    let deleted = call(
        addr,
        "DELETE",
        &format!("{messages}/{}", sent[0].0),
        token,
        None,
    );
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(
        get(addr, path_of(&sent[0].1)).status,
        404,
        "a deleted message's file"
    );
    assert_eq!(
        get(addr, path_of(&sent[1].1)).status,
        200,
        "the others stay"
    );
    let bulk = json!({ "messages": [sent[1].0, sent[2].0] });
    let deleted = call(
        addr,
        "POST",
        &format!("{messages}/bulk-delete"),
        token,
        Some(&bulk),
    );
    assert_eq!(deleted.status, 204, "{deleted:?}");
    for (_, url) in &sent[1..] {
        assert_eq!(get(addr, path_of(url)).status, 404);
    }
}
both_backends!(deleted_files, a_deleted_messages_files_are_no_longer_served);
