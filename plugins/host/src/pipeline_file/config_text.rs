//! A component's keys from a pipeline file as the configuration text it is
//! built from, and its errors turned back into the file's lines.
//!
//! The text is a JSON object with one top-level key a line (key `i` on
//! line `i + 2`), so that a parse error's position names the key; every
//! key keeps its line in the file.

use std::collections::BTreeMap;

use toml::Spanned;

/// The keys of one `[[source]]` or `[[sink]]` as the component's
/// configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConfigText {
    /// The JSON text.
    pub json: String,
    /// Each key with its 1-based line in the file, in text order.
    pub keys: Vec<(String, usize)>,
}

/// 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A NaN or infinite float anywhere in `v` (JSON has no such numbers).
fn non_finite(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) if !f.is_finite() => Some(*f),
        toml::Value::Array(a) => a.iter().find_map(non_finite),
        toml::Value::Table(t) => t.values().find_map(non_finite),
        _ => None,
    }
}

impl ConfigText {
    /// The keys of `table` (what is left once the pipeline's own keys are
    /// taken out), in file order.
    pub(crate) fn new(
        table: &BTreeMap<String, Spanned<toml::Value>>,
        file: &str,
    ) -> Result<Self, (usize, String)> {
        let mut keys: Vec<(&String, &Spanned<toml::Value>)> = table.iter().collect();
        keys.sort_by_key(|(_, v)| v.span().start);
        let mut json = String::from("{\n");
        for (i, (k, v)) in keys.iter().enumerate() {
            if let Some(bad) = non_finite(v.get_ref()) {
                return Err((
                    line_of(file, v.span().start),
                    format!("`{k}`: {bad} is not a number a component can take"),
                ));
            }
            let sep = if i + 1 < keys.len() { "," } else { "" };
            let key = serde_json::Value::String(k.to_string());
            let value = serde_json::to_value(v.get_ref()).unwrap_or(serde_json::Value::Null);
            json += &format!("{key}: {value}{sep}\n");
        }
        json.push('}');
        Ok(Self {
            json,
            keys: keys
                .into_iter()
                .map(|(k, v)| (k.clone(), line_of(file, v.span().start)))
                .collect(),
        })
    }

    /// The line of `key`, if the section has it.
    pub(crate) fn line_of_key(&self, key: &str) -> Option<usize> {
        // a dotted key (`sinks.0.dir`) is on the line of its first part
        let first = key.split(['.', '[']).next().unwrap_or(key);
        self.keys.iter().find(|(k, _)| k == first).map(|(_, l)| *l)
    }

    /// `message` (a component refusing these keys) with the position in
    /// the generated text replaced by the key and its line in the file;
    /// `section_line` when no key can be named.
    pub(crate) fn locate(&self, message: &str, section_line: usize) -> (usize, String) {
        let message = message.replacen("JSON: ", "", 1);
        // serde_json: "... at line N column M"
        if let Some(at) = message.rfind(" at line ") {
            let (text, position) = message.split_at(at);
            let line: Option<usize> = position
                .trim_start_matches(" at line ")
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok());
            if let Some((key, line)) = line
                .and_then(|l| l.checked_sub(2))
                .and_then(|i| self.keys.get(i))
            {
                return (*line, format!("`{key}`: {text}"));
            }
            return (section_line, text.to_string());
        }
        // validate(): "invalid KEY: ..." names the key
        if let Some(rest) = message.rsplit("invalid ").next().filter(|r| *r != message) {
            if let Some(key) = rest.split(':').next() {
                if let Some(line) = self.line_of_key(key.trim()) {
                    return (line, message.clone());
                }
            }
        }
        (section_line, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_lines_and_errors_point_at_them() {
        let file = "[[source]]\ntype = 'x'\npath = 'a.mp4'\nfps = 3\n";
        #[derive(serde::Deserialize)]
        struct F {
            source: Vec<BTreeMap<String, Spanned<toml::Value>>>,
        }
        let mut t = toml::from_str::<F>(file).unwrap().source.remove(0);
        t.remove("type");
        let c = ConfigText::new(&t, file).unwrap();
        assert_eq!(c.json, "{\n\"path\": \"a.mp4\",\n\"fps\": 3\n}");
        assert_eq!(c.keys, [("path".into(), 3), ("fps".into(), 4)]);
        let (line, m) = c.locate(
            "JSON: invalid type: integer `3`, expected a string at line 3 column 7",
            1,
        );
        assert_eq!(line, 4);
        assert!(m.starts_with("`fps`: invalid type"), "{m}");
        let (line, m) = c.locate("invalid path: must name a file", 1);
        assert_eq!((line, m.as_str()), (3, "invalid path: must name a file"));
        let (line, _) = c.locate("missing field `source_id`", 1);
        assert_eq!(line, 1);
    }
}
