//! The API's description: the OpenAPI 3.1 document generated from the handlers and types
//! (`GET /api/v1/openapi.json`) and a plain HTML page rendered from that same document
//! (`GET /api/v1/docs`): every path, method, parameter and response schema, no scripts.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use leptos::nonce::Nonce;
use quick_xml::events::{BytesText, Event};
use quick_xml::Writer;
use serde_json::Value;
use utoipa::OpenApi;

use crate::edge::error::{method_not_allowed, ApiError};
use crate::AppState;

/// The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Streamgate API",
        version = "1",
        description = "OKD release streams, releases, their gates, upgrade edges and changelogs. \
            Reads carry a strong ETag and may be cached for 30 seconds; the writes are the \
            registry webhooks and promotions (API tokens: Authorization: Bearer sg_…). \
            Errors are {\"errors\":[{\"detail\": \"…\"}]}."
    ),
    paths(
        super::streams::list_streams,
        super::streams::get_stream,
        super::releases::list_stream_releases,
        super::releases::get_release,
        super::compare::compare_releases,
        super::upgrade::upgrade_question,
        super::jobs::rank_jobs,
        super::jobs::job_history,
        super::search::search,
        crate::feeds::stream_feed,
        crate::feeds::job_feed,
        crate::feeds::component_feed,
        super::hooks::receive_registry_events,
        super::hooks::receive_quay_push,
        super::promotions::list_promotions,
        super::promotions::create_promotion,
        super::promotions::get_promotion,
        super::promotions::get_notes,
        super::promotions::get_signature_message,
        crate::signatures::get_signature,
        super::promotions::list_targets,
        super::promotions::put_target,
        super::promotions::delete_target,
        super::live::follow,
        openapi_json,
        docs_page,
    ),
    tags(
        (name = "streams", description = "release streams and their health"),
        (name = "releases", description = "releases, their gates and what changed"),
        (name = "feeds", description = "Atom feeds for feed readers"),
        (name = "hooks", description = "registry webhooks: pushes and deletes of images"),
        (name = "promotions", description = "promoting accepted CI releases to their target streams"),
        (name = "live", description = "server-sent events: what changed, for open pages"),
        (name = "meta", description = "this description"),
    )
)]
pub struct ApiDoc;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(openapi_json).fallback(method_not_allowed),
        )
        .route("/api/v1/docs", get(docs_page).fallback(method_not_allowed))
}

/// The OpenAPI 3.1 document describing this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json"))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A page for people describing every route, rendered from the OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/v1/docs",
    tag = "meta",
    responses((status = 200, description = "HTML", content_type = "text/html"))
)]
pub async fn docs_page(nonce: Option<Extension<Nonce>>) -> Result<Response, ApiError> {
    let doc = serde_json::to_value(ApiDoc::openapi())
        .map_err(|e| ApiError::Internal(format!("openapi to json: {e}")))?;
    let nonce = nonce.map(|Extension(n)| n.to_string());
    let html = render(&doc, nonce.as_deref())
        .map_err(|e| ApiError::Internal(format!("docs page: {e}")))?;
    Ok(([(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

const METHODS: [&str; 8] = [
    "get", "head", "options", "post", "put", "patch", "delete", "trace",
];

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;\
    padding:0 1rem;color:#222}code,pre{font-family:ui-monospace,monospace}\
    h2{border-top:1px solid #ccc;padding-top:1rem}table{border-collapse:collapse;margin:.5rem 0}\
    td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}\
    .method{font-weight:bold;text-transform:uppercase}\
    @media (prefers-color-scheme:dark){body{background:#111;color:#ddd}td,th{border-color:#444}\
    a{color:#8cf}}";

type W = Writer<Vec<u8>>;

fn text(w: &mut W, s: &str) -> std::io::Result<()> {
    w.write_event(Event::Text(BytesText::new(s)))
}

fn element(w: &mut W, name: &str, content: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(content))?;
    Ok(())
}

/// Renders the HTML page for an OpenAPI document (as JSON). Every string from the
/// document goes through quick-xml, which escapes it. The inline style carries `nonce`, the
/// response's Content-Security-Policy nonce ([`crate::headers`]).
pub fn render(doc: &Value, nonce: Option<&str>) -> std::io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    w.write_event(Event::DocType(BytesText::from_escaped("html")))?;
    w.create_element("html")
        .with_attribute(("lang", "en"))
        .write_inner_content(|w| {
            w.create_element("head").write_inner_content(|w| {
                w.create_element("meta")
                    .with_attribute(("charset", "utf-8"))
                    .write_empty()?;
                w.create_element("meta")
                    .with_attribute(("name", "viewport"))
                    .with_attribute(("content", "width=device-width, initial-scale=1"))
                    .write_empty()?;
                element(w, "title", title)?;
                let style = w.create_element("style");
                let style = match nonce {
                    Some(nonce) => style.with_attribute(("nonce", nonce)),
                    None => style,
                };
                style.write_text_content(BytesText::new(STYLE))?;
                Ok(())
            })?;
            w.create_element("body").write_inner_content(|w| {
                element(w, "h1", title)?;
                element(w, "p", doc["info"]["description"].as_str().unwrap_or(""))?;
                w.create_element("p").write_inner_content(|w| {
                    text(w, "Machine-readable: ")?;
                    w.create_element("a")
                        .with_attribute(("href", "/api/v1/openapi.json"))
                        .write_text_content(BytesText::new("/api/v1/openapi.json"))?;
                    text(w, " (OpenAPI ")?;
                    text(w, doc["openapi"].as_str().unwrap_or(""))?;
                    text(w, ").")
                })?;
                let names: Vec<&str> = doc["components"]["schemas"]
                    .as_object()
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                paths(w, &names, doc)?;
                schemas(w, &names, doc)
            })?;
            Ok(())
        })?;
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

fn paths(w: &mut W, names: &[&str], doc: &Value) -> std::io::Result<()> {
    let Some(paths) = doc["paths"].as_object() else {
        return Ok(());
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            w.create_element("section").write_inner_content(|w| {
                w.create_element("h2").write_inner_content(|w| {
                    w.create_element("span")
                        .with_attribute(("class", "method"))
                        .write_text_content(BytesText::new(method))?;
                    text(w, " ")?;
                    element(w, "code", path)
                })?;
                if let Some(summary) = op["summary"].as_str() {
                    element(w, "p", summary)?;
                }
                if let Some(description) = op["description"].as_str() {
                    element(w, "p", description)?;
                }
                parameters(w, names, op)?;
                responses(w, names, op)
            })?;
        }
    }
    Ok(())
}

fn parameters(w: &mut W, names: &[&str], op: &Value) -> std::io::Result<()> {
    let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    element(w, "h3", "Parameters")?;
    table(
        w,
        names,
        &["name", "in", "required", "type", "description"],
        params.iter().map(|p| {
            vec![
                Cell::Text(p["name"].as_str().unwrap_or("").to_string()),
                Cell::Text(p["in"].as_str().unwrap_or("").to_string()),
                Cell::Text(yes_no(p["required"].as_bool().unwrap_or(false))),
                Cell::Type(type_name(&p["schema"])),
                Cell::Text(p["description"].as_str().unwrap_or("").to_string()),
            ]
        }),
    )
}

fn responses(w: &mut W, names: &[&str], op: &Value) -> std::io::Result<()> {
    let Some(responses) = op["responses"].as_object() else {
        return Ok(());
    };
    element(w, "h3", "Responses")?;
    table(
        w,
        names,
        &["status", "description", "content type", "schema"],
        responses.iter().map(|(status, r)| {
            let content = r["content"].as_object();
            let (content_type, schema) = content
                .and_then(|c| c.iter().next())
                .map(|(ct, c)| (ct.clone(), type_name(&c["schema"])))
                .unwrap_or_default();
            vec![
                Cell::Text(status.clone()),
                Cell::Text(r["description"].as_str().unwrap_or("").to_string()),
                Cell::Text(content_type),
                Cell::Type(schema),
            ]
        }),
    )
}

fn schemas(w: &mut W, names: &[&str], doc: &Value) -> std::io::Result<()> {
    let Some(schemas) = doc["components"]["schemas"].as_object() else {
        return Ok(());
    };
    w.create_element("h2")
        .write_text_content(BytesText::new("Schemas"))?;
    for (name, schema) in schemas {
        w.create_element("section")
            .with_attribute(("id", format!("schema-{name}").as_str()))
            .write_inner_content(|w| {
                w.create_element("h3")
                    .write_inner_content(|w| element(w, "code", name))?;
                if let Some(description) = schema["description"].as_str() {
                    element(w, "p", description)?;
                }
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(properties) = schema["properties"].as_object() {
                    table(
                        w,
                        names,
                        &["field", "type", "required", "description"],
                        properties.iter().map(|(field, p)| {
                            vec![
                                Cell::Text(field.clone()),
                                Cell::Type(type_name(p)),
                                Cell::Text(yes_no(required.contains(&field.as_str()))),
                                Cell::Text(p["description"].as_str().unwrap_or("").to_string()),
                            ]
                        }),
                    )?;
                }
                Ok(())
            })?;
    }
    Ok(())
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// A table cell: text, or a type whose schema names link to their descriptions.
enum Cell {
    Text(String),
    Type(String),
}

fn table(
    w: &mut W,
    names: &[&str],
    headings: &[&str],
    rows: impl Iterator<Item = Vec<Cell>>,
) -> std::io::Result<()> {
    w.create_element("table").write_inner_content(|w| {
        w.create_element("tr").write_inner_content(|w| {
            for h in headings {
                element(w, "th", h)?;
            }
            Ok(())
        })?;
        for row in rows {
            w.create_element("tr").write_inner_content(|w| {
                for cell in &row {
                    match cell {
                        Cell::Text(t) => element(w, "td", t)?,
                        Cell::Type(t) => type_cell(w, names, t)?,
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

fn type_cell(w: &mut W, names: &[&str], type_name: &str) -> std::io::Result<()> {
    w.create_element("td").write_inner_content(|w| {
        for (i, word) in type_name.split(' ').enumerate() {
            if i > 0 {
                text(w, " ")?;
            }
            if names.contains(&word) {
                w.create_element("a")
                    .with_attribute(("href", format!("#schema-{word}").as_str()))
                    .write_text_content(BytesText::new(word))?;
            } else {
                text(w, word)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// A schema in a few words: `Stream`, `array of Gate`, `string (date-time) or null`.
fn type_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string();
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[combinator].as_array() {
            return options
                .iter()
                .map(type_name)
                .collect::<Vec<_>>()
                .join(" or ");
        }
    }
    let base = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec![],
    };
    let named: Vec<String> = base
        .into_iter()
        .map(|t| match t.as_str() {
            "array" => format!("array of {}", type_name(&schema["items"])),
            _ => match schema["format"].as_str() {
                Some(format) => format!("{t} ({format})"),
                None => t,
            },
        })
        .collect();
    if named.is_empty() {
        "any".to_string()
    } else {
        named.join(" or ")
    }
}
