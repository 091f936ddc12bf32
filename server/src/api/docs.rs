//! `/api/docs`: the API documentation as plain HTML, rendered from the generated OpenAPI
//! document (nothing hand-written to drift, nothing loaded from elsewhere).

use std::{collections::BTreeMap, fmt::Write};

use serde_json::Value;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330;line-height:1.45}\
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f5f7;padding:.75rem;overflow:auto}\
.op{border:1px solid #d8dbe2;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}.m{font-weight:700;text-transform:uppercase;margin-right:.5rem}\
.get{color:#0a7}.post{color:#06c}.put{color:#a60}.delete{color:#c22}table{border-collapse:collapse;width:100%;margin:.5rem 0}\
td,th{border-bottom:1px solid #e4e6eb;text-align:left;padding:.25rem .5rem;vertical-align:top}nav a{margin-right:1rem}";

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    match schema.get("type") {
        Some(Value::String(t)) if t == "array" => format!(
            "array of {}",
            schema.get("items").map_or("any".into(), schema_name)
        ),
        Some(Value::String(t)) => esc(t),
        Some(Value::Array(types)) => esc(&types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | ")),
        _ => match schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
        {
            Some(options) => options
                .iter()
                .map(schema_name)
                .collect::<Vec<_>>()
                .join(" | "),
            None => "object".into(),
        },
    }
}

fn render_operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(out, "<div class=\"op\"><h3><span class=\"m {method}\">{method}</span><code>/api/v1{}</code></h3>", esc(path));
    for key in ["summary", "description"] {
        if let Some(text) = op.get(key).and_then(Value::as_str) {
            let _ = write!(out, "<p>{}</p>", esc(text));
        }
    }
    if let Some(security) = op.get("security").and_then(Value::as_array) {
        let scopes: Vec<String> = security
            .iter()
            .filter_map(|s| s.get("api_key").and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| format!("<code>{}</code>", esc(s)))
            .collect();
        let _ = write!(
            out,
            "<p>Bearer API key with scope {}</p>",
            scopes.join(", ")
        );
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr>");
        for p in params {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p.get("name").and_then(Value::as_str).unwrap_or("")),
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    " (required)"
                } else {
                    ""
                },
                esc(p.get("in").and_then(Value::as_str).unwrap_or("")),
                p.get("schema").map_or(String::new(), schema_name),
                esc(p.get("description").and_then(Value::as_str).unwrap_or("")),
            );
        }
        out.push_str("</table>");
    }
    if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
        let _ = write!(
            out,
            "<h4>Request body</h4><p><code>application/json</code>: {}</p>",
            schema_name(schema)
        );
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str(
            "<h4>Responses</h4><table><tr><th>Status</th><th>Description</th><th>Body</th></tr>",
        );
        for (status, response) in responses {
            let body = response
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.iter().next())
                .map(|(media, content)| {
                    format!(
                        "<code>{}</code> {}",
                        esc(media),
                        content.get("schema").map_or(String::new(), schema_name)
                    )
                })
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{body}</td></tr>",
                esc(status),
                esc(response
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")),
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</div>");
}

fn render_schema(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(out, "<h3 id=\"schema-{0}\">{0}</h3>", esc(name));
    if let Some(text) = schema.get("description").and_then(Value::as_str) {
        let _ = write!(out, "<p>{}</p>", esc(text));
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect());
    let mut properties: Vec<(&String, &Value)> = Vec::new();
    for part in std::iter::once(schema).chain(
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    ) {
        if let Some(props) = part.get("properties").and_then(Value::as_object) {
            properties.extend(props.iter());
        }
    }
    if properties.is_empty() {
        return;
    }
    out.push_str("<table><tr><th>Field</th><th>Type</th><th>Description</th><th>Example</th></tr>");
    for (field, prop) in properties {
        let _ = write!(
            out,
            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(field),
            if required.contains(&field.as_str()) {
                " (required)"
            } else {
                ""
            },
            schema_name(prop),
            esc(prop
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")),
            prop.get("example").map_or(String::new(), |e| format!(
                "<code>{}</code>",
                esc(&e.to_string())
            )),
        );
    }
    out.push_str("</table>");
}

/// The whole page.
pub fn render(document: &utoipa::openapi::OpenApi) -> String {
    let doc = serde_json::to_value(document).unwrap_or_default();
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{0}</title><style>{STYLE}</style></head><body><h1>{0}</h1>",
        esc(title)
    );
    if let Some(text) = doc.pointer("/info/description").and_then(Value::as_str) {
        for paragraph in text.split("\n\n") {
            let _ = write!(out, "<p>{}</p>", esc(paragraph));
        }
    }
    out.push_str("<p>Machine-readable: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI 3.1). \
        Shop integration guide: <code>docs/shop-integration.md</code>.</p>");
    let mut by_tag: BTreeMap<String, Vec<(String, String, Value)>> = BTreeMap::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in ["get", "put", "post", "delete", "patch"] {
                if let Some(op) = item.get(method) {
                    let tag = op
                        .pointer("/tags/0")
                        .and_then(Value::as_str)
                        .unwrap_or("other")
                        .to_owned();
                    by_tag.entry(tag).or_default().push((
                        method.to_owned(),
                        path.clone(),
                        op.clone(),
                    ));
                }
            }
        }
    }
    let tags: Vec<Value> = doc
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    out.push_str("<nav>");
    for tag in by_tag.keys() {
        let _ = write!(out, "<a href=\"#tag-{0}\">{0}</a>", esc(tag));
    }
    out.push_str("<a href=\"#schemas\">schemas</a></nav>");
    for (tag, ops) in &by_tag {
        let _ = write!(out, "<h2 id=\"tag-{0}\">{0}</h2>", esc(tag));
        if let Some(text) = tags
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(tag))
            .and_then(|t| t.get("description"))
            .and_then(Value::as_str)
        {
            let _ = write!(out, "<p>{}</p>", esc(text));
        }
        for (method, path, op) in ops {
            render_operation(&mut out, method, path, op);
        }
    }
    out.push_str("<h2 id=\"schemas\">Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            render_schema(&mut out, name, schema);
        }
    }
    out.push_str("</body></html>");
    out
}
