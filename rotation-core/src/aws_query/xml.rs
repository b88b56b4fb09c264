//! The XML of AWS Query answers, read into a small tree.
//!
//! Query services answer with plain documents: elements, text, the five
//! predefined entities and character references, an `xmlns` attribute, now
//! and then CDATA. That is all this reads; anything else (a DOCTYPE, an
//! unclosed or mismatched tag, nesting deeper than [`MAX_DEPTH`]) is an
//! error, never a panic.

use std::fmt;

/// Nesting deeper than this is refused (RDS's deepest answer is 7).
pub const MAX_DEPTH: usize = 64;

/// One element: its local name (a namespace prefix dropped), its text
/// (the concatenation of its own text and CDATA, entities resolved), and
/// its child elements in order.
///
/// `Debug` prints the names only: an answer can carry a secret (IAM's
/// `CreateAccessKey` returns the new secret access key).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The local name.
    pub name: String,
    /// The element's own text.
    pub text: String,
    /// Child elements, in document order.
    pub children: Vec<Element>,
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut tuple = f.debug_tuple(&self.name);
        if !self.text.is_empty() {
            tuple.field(&format_args!("<{} bytes of text>", self.text.len()));
        }
        for child in &self.children {
            tuple.field(child);
        }
        tuple.finish()
    }
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at `path` below this one, following first matches.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter()
            .try_fold(self, |element, name| element.child(name))
    }

    /// The text of the element at `path`, if it is there.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(|e| e.text.as_str())
    }

    /// The texts of a Query list: the children of the element at `path`
    /// (whatever their name: `member`, or the item type's name).
    pub fn list_at(&self, path: &[&str]) -> Vec<&str> {
        self.at(path)
            .map(|list| list.children.iter().map(|c| c.text.as_str()).collect())
            .unwrap_or_default()
    }
}

/// The document is not XML this reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable XML at byte {at}: {what}")]
pub struct XmlError {
    /// Where the reader stopped.
    pub at: usize,
    /// What it found there.
    pub what: &'static str,
}

/// Reads `document` into its root element.
pub fn parse(document: &str) -> Result<Element, XmlError> {
    let mut reader = Reader {
        input: document,
        at: 0,
    };
    reader.skip_misc()?;
    if !reader.rest().starts_with('<') {
        return Err(reader.error("no root element"));
    }
    let root = reader.element(0)?;
    reader.skip_misc()?;
    if reader.at != document.len() {
        return Err(reader.error("content after the root element"));
    }
    Ok(root)
}

struct Reader<'a> {
    input: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.at..]
    }

    fn error(&self, what: &'static str) -> XmlError {
        XmlError { at: self.at, what }
    }

    /// Moves past `end`, which must follow somewhere.
    fn skip_past(&mut self, end: &str, what: &'static str) -> Result<&'a str, XmlError> {
        let rest = self.rest();
        let found = rest.find(end).ok_or_else(|| self.error(what))?;
        self.at += found + end.len();
        Ok(&rest[..found])
    }

    /// Whitespace, the XML declaration, processing instructions and
    /// comments, outside the root element.
    fn skip_misc(&mut self) -> Result<(), XmlError> {
        loop {
            let trimmed = self.rest().trim_start();
            self.at = self.input.len() - trimmed.len();
            if trimmed.starts_with("<?") {
                self.skip_past("?>", "an unterminated processing instruction")?;
            } else if trimmed.starts_with("<!--") {
                self.skip_past("-->", "an unterminated comment")?;
            } else if trimmed.starts_with("<!") {
                return Err(self.error("a DOCTYPE or other declaration"));
            } else {
                return Ok(());
            }
        }
    }

    /// The element starting at `<`.
    fn element(&mut self, depth: usize) -> Result<Element, XmlError> {
        if depth >= MAX_DEPTH {
            return Err(self.error("elements nested too deep"));
        }
        self.at += 1;
        let rest = self.rest();
        let name_len = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .ok_or_else(|| self.error("an unterminated start tag"))?;
        let qualified = &rest[..name_len];
        if qualified.is_empty() {
            return Err(self.error("a tag without a name"));
        }
        self.at += name_len;
        let closed = self.skip_attributes()?;
        let mut element = Element {
            name: local_name(qualified).to_owned(),
            ..Element::default()
        };
        if closed {
            return Ok(element);
        }
        loop {
            let rest = self.rest();
            if let Some(after) = rest.strip_prefix("</") {
                let end = after
                    .find('>')
                    .ok_or_else(|| self.error("an unterminated end tag"))?;
                if after[..end].trim_end() != qualified {
                    return Err(self.error("an end tag that does not match its start tag"));
                }
                self.at += 2 + end + 1;
                return Ok(element);
            } else if rest.starts_with("<![CDATA[") {
                self.at += "<![CDATA[".len();
                let data = self.skip_past("]]>", "an unterminated CDATA section")?;
                element.text.push_str(data);
            } else if rest.starts_with("<!--") {
                self.skip_past("-->", "an unterminated comment")?;
            } else if rest.starts_with("<?") {
                self.skip_past("?>", "an unterminated processing instruction")?;
            } else if rest.starts_with('<') {
                element.children.push(self.element(depth + 1)?);
            } else if rest.is_empty() {
                return Err(self.error("an element that is never closed"));
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                let text = &rest[..end];
                unescape_into(text, &mut element.text).map_err(|what| self.error(what))?;
                self.at += end;
            }
        }
    }

    /// Moves past a start tag's attributes; true if the tag closes itself.
    fn skip_attributes(&mut self) -> Result<bool, XmlError> {
        let mut quote = None;
        for (offset, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '<') => break,
                (None, '>') => {
                    let closed = self.rest()[..offset].trim_end().ends_with('/');
                    self.at += offset + 1;
                    return Ok(closed);
                }
                (None, _) => {}
            }
        }
        Err(self.error("an unterminated start tag"))
    }
}

fn local_name(qualified: &str) -> &str {
    qualified.rsplit(':').next().unwrap_or(qualified)
}

/// Appends `text` to `out` with its entity and character references
/// resolved.
fn unescape_into(text: &str, out: &mut String) -> Result<(), &'static str> {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').ok_or("an unterminated entity")?;
        let entity = &after[..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16)
                } else if let Some(decimal) = entity.strip_prefix('#') {
                    decimal.parse()
                } else {
                    return Err("an unknown entity");
                };
                code.ok()
                    .and_then(char::from_u32)
                    .ok_or("a character reference to no character")?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rds_answer_reads_into_its_tree() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBInstancesResult>
    <DBInstances>
      <DBInstance>
        <Endpoint><Address>db.example.com</Address><Port>5432</Port></Endpoint>
        <ReadReplicaDBInstanceIdentifiers>
          <ReadReplicaDBInstanceIdentifier>r-1</ReadReplicaDBInstanceIdentifier>
          <ReadReplicaDBInstanceIdentifier>arn:aws:rds:us-west-2:1:db:r-2</ReadReplicaDBInstanceIdentifier>
        </ReadReplicaDBInstanceIdentifiers>
        <TagList/>
      </DBInstance>
    </DBInstances>
  </DescribeDBInstancesResult>
  <ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>
</DescribeDBInstancesResponse>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "DescribeDBInstancesResponse");
        let instance = root
            .at(&["DescribeDBInstancesResult", "DBInstances", "DBInstance"])
            .unwrap();
        assert_eq!(
            instance.text_at(&["Endpoint", "Address"]),
            Some("db.example.com")
        );
        assert_eq!(instance.text_at(&["Endpoint", "Port"]), Some("5432"));
        assert_eq!(
            instance.list_at(&["ReadReplicaDBInstanceIdentifiers"]),
            ["r-1", "arn:aws:rds:us-west-2:1:db:r-2"]
        );
        assert!(instance.child("TagList").unwrap().children.is_empty());
        assert_eq!(instance.child("Missing"), None);
    }

    #[test]
    fn entities_cdata_prefixes_and_attributes_are_read() {
        let root = parse(
            "<a:Root xmlns:a='u' b=\"x>y\"><a:V>1 &lt; 2 &amp;&amp; &#x41;&#66; &quot;&apos;<![CDATA[<raw>&amp;]]><!-- c --></a:V><E /></a:Root>",
        )
        .unwrap();
        assert_eq!(root.name, "Root");
        assert_eq!(root.text_at(&["V"]), Some("1 < 2 && AB \"'<raw>&amp;"));
        assert_eq!(root.child("E").map(|e| e.text.as_str()), Some(""));
    }

    #[test]
    fn broken_documents_are_errors_not_panics() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        for doc in [
            "",
            "text",
            "<a>",
            "<a></b>",
            "<a><b></a>",
            "<a>&bogus;</a>",
            "<a>&#xD800;</a>",
            "<a>&amp</a>",
            "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>",
            "<a/><b/>",
            "<a b='unterminated></a>",
            "<>",
            "<a><![CDATA[open</a>",
            "<a><!-- open</a>",
            "<a></a",
            deep.as_str(),
        ] {
            assert!(parse(doc).is_err(), "{doc:?}");
        }
    }

    #[test]
    fn debug_shows_names_and_never_text() {
        let root = parse("<R><SecretAccessKey>wJalrXUtnFEMI</SecretAccessKey></R>").unwrap();
        let printed = format!("{root:?}");
        assert!(printed.contains("SecretAccessKey"), "{printed}");
        assert!(!printed.contains("wJalrXUtnFEMI"), "{printed}");
    }
}
