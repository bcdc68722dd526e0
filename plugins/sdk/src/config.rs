//! Configuration text: TOML, or JSON when it starts with `{`.

use serde::de::DeserializeOwned;

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
