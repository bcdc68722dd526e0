//! A reference of every key of a pipeline file, generated from the
//! configuration types: one JSON Schema (draft 2020-12) of the whole file
//! whose `[[source]]` and `[[sink]]` items are one of the registered
//! components (the pipeline's own keys plus the component's), and the
//! `--list` text.

use serde_json::{json, Map, Value};

use super::{LoopbackSection, ModuleSection, SinkKeys, SourceKeys, TelemetrySection};
use crate::error::PluginHostError;
use crate::PluginRegistry;

/// The pipeline's own keys of the file's top level.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)] // only its schema is used
struct TopLevel {
    /// `.so` files or folders of plugins, relative to the file.
    plugins: Option<Vec<String>>,
    /// The protocol version sources stamp (default "1.15.0", Savant 0.6.1's).
    protocol_version: Option<String>,
    /// As `protocol_version`, by Savant release ("0.4", "0.6.0", "0.6.1").
    savant: Option<String>,
    /// Traces and their export.
    telemetry: Option<TelemetrySection>,
    /// An external module's sockets (defaults for sources and sinks).
    module: Option<ModuleSection>,
    /// The embedded pass-through module.
    loopback: Option<LoopbackSection>,
}

fn schema_of<T: schemars::JsonSchema>() -> Value {
    savant_sdk_plugin::schema_of::<T>()
}

/// Moves `schema`'s `$defs` into `defs` under `prefix.`, rewriting its
/// `$ref`s to match; returns the schema without them.
fn hoist(mut schema: Value, prefix: &str, defs: &mut Map<String, Value>) -> Value {
    if let Some(Value::Object(own)) = schema.as_object_mut().and_then(|o| o.remove("$defs")) {
        for (k, v) in own {
            let v = hoist(v, prefix, defs);
            defs.insert(format!("{prefix}.{k}"), v);
        }
    }
    if let Some(o) = schema.as_object_mut() {
        o.remove("$schema");
    }
    rewrite(schema, prefix)
}

fn rewrite(v: Value, prefix: &str) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        let r = match r.strip_prefix("#/$defs/") {
                            Some(name) => format!("#/$defs/{prefix}.{name}"),
                            None => r,
                        };
                        (k, Value::String(r))
                    }
                    (_, v) => (k, rewrite(v, prefix)),
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| rewrite(v, prefix)).collect()),
        other => other,
    }
}

/// One item of `source`/`sink`: the pipeline's keys and the component's,
/// with `type` fixed to its name.
fn item(
    name: &str,
    description: &str,
    pipeline_keys: &Value,
    component: Value,
    defs: &mut Map<String, Value>,
) -> Value {
    let kind_prefix = format!("component.{name}");
    let component = hoist(component, &kind_prefix, defs);
    let mut properties = Map::new();
    if let Some(Value::Object(p)) = pipeline_keys.get("properties") {
        properties.extend(p.clone());
    }
    if let Some(Value::Object(p)) = component.get("properties") {
        properties.extend(p.clone());
    }
    properties.insert(
        "type".into(),
        json!({"const": name, "description": "The component's name."}),
    );
    let mut required = vec![Value::String("type".into())];
    if let Some(Value::Array(r)) = component.get("required") {
        required.extend(r.iter().cloned());
    }
    // a component that takes any keys says so; the others take only theirs
    let additional = component
        .get("additionalProperties")
        .cloned()
        .unwrap_or(Value::Bool(false));
    json!({
        "title": name,
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": additional,
    })
}

/// The JSON Schema of a pipeline file whose components are `registry`'s.
pub fn pipeline_schema(registry: &PluginRegistry) -> Result<Value, PluginHostError> {
    let mut defs = Map::new();
    let top = hoist(schema_of::<TopLevel>(), "pipeline", &mut defs);
    let source_keys = hoist(schema_of::<SourceKeys>(), "pipeline", &mut defs);
    let sink_keys = hoist(schema_of::<SinkKeys>(), "pipeline", &mut defs);
    let (mut sources, mut sinks) = (Vec::new(), Vec::new());
    for c in registry.components() {
        let schema = registry.schema(&c.name)?;
        match c.kind {
            "source" => sources.push(item(
                &c.name,
                &c.description,
                &source_keys,
                schema,
                &mut defs,
            )),
            _ => sinks.push(item(&c.name, &c.description, &sink_keys, schema, &mut defs)),
        }
    }
    let mut properties = top.get("properties").cloned().unwrap_or_else(|| json!({}));
    properties["source"] = json!({
        "description": "The sources, each a registered source component.",
        "type": "array",
        "items": {"oneOf": sources},
    });
    properties["sink"] = json!({
        "description": "The sinks, each a registered sink component.",
        "type": "array",
        "items": {"oneOf": sinks},
    });
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "savant-sdk pipeline file",
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
        "$defs": defs,
    }))
}

/// Each key of a component's schema: name, type and description.
pub fn keys(schema: &Value) -> Vec<(String, String, String)> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(Value::Object(props)) = schema.get("properties") else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(k, v)| {
            let ty = match v.get("type") {
                Some(Value::String(t)) => t.clone(),
                Some(Value::Array(ts)) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect::<Vec<_>>()
                    .join("|"),
                _ if v.get("enum").is_some() || v.get("oneOf").is_some() => "enum".into(),
                _ => "value".into(),
            };
            let ty = if required.contains(&k.as_str()) {
                format!("{ty}, required")
            } else {
                ty
            };
            let description = v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .replace('\n', " ");
            (k.clone(), ty, description)
        })
        .collect()
}

/// `savant-sdk run --list`: every component, its origin, what it is and
/// its keys.
pub fn list(registry: &PluginRegistry) -> Result<String, PluginHostError> {
    let mut out = String::new();
    for c in registry.components() {
        out += &format!("{} {} {}: {}\n", c.kind, c.name, c.origin, c.description);
        for (k, ty, d) in keys(&registry.schema(&c.name)?) {
            out += &format!("    {k} ({ty}) {d}\n");
        }
    }
    Ok(out)
}
