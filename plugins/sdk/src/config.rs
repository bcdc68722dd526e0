//! Configuration text: TOML, or JSON when it starts with `{`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::PluginError;

/// Parses a component's configuration: JSON when the text starts with `{`
/// (no TOML document can), TOML otherwise. An empty text is an empty
/// TOML table.
///
/// ```
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct C { frames: u32 }
/// assert_eq!(savant_sdk_plugin::parse_config::<C>("x", "frames = 3").unwrap(), C { frames: 3 });
/// assert_eq!(savant_sdk_plugin::parse_config::<C>("x", r#"{"frames": 4}"#).unwrap(), C { frames: 4 });
/// assert!(savant_sdk_plugin::parse_config::<C>("x", "frames = 'many'").is_err());
/// ```
pub fn parse_config<C: DeserializeOwned>(plugin: &str, text: &str) -> Result<C, PluginError> {
    let error = |message: String| PluginError::Config {
        plugin: plugin.to_string(),
        message,
    };
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| error(format!("JSON: {e}")))
    } else {
        toml::from_str(text).map_err(|e| error(e.to_string().trim_end().to_string()))
    }
}

/// The configuration text of settings given as a value: any `Serialize`
/// type whose form is a table (a struct, a map, a `serde_json::Value` or
/// `toml::Value` object), as JSON text that [`parse_config`] reads. What
/// is not a table is refused, naming the plugin.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct C { frames: u32 }
/// let text = savant_sdk_plugin::config_text("x", &C { frames: 3 }).unwrap();
/// assert_eq!(savant_sdk_plugin::parse_config::<C>("x", &text).unwrap(), C { frames: 3 });
/// assert!(savant_sdk_plugin::config_text("x", &[1, 2]).is_err());
/// ```
pub fn config_text<T: Serialize + ?Sized>(
    plugin: &str,
    settings: &T,
) -> Result<String, PluginError> {
    let error = |message: String| PluginError::Config {
        plugin: plugin.to_string(),
        message,
    };
    match serde_json::to_value(settings) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v.to_string()),
        Ok(other) => Err(error(format!(
            "settings must be a table of keys and values, not {}",
            match other {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Array(_) => "a list",
                serde_json::Value::Object(_) => unreachable!("matched above"),
            }
        ))),
        Err(e) => Err(error(format!("cannot serialise the settings: {e}"))),
    }
}
