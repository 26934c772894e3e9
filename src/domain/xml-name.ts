// XML 1.0 (5th ed.) element names, without ":" so documents stay namespace-well-formed: the
// rule the xml encoder renames keys by, and the one subscriptions are checked against at save.

/** NameStartChar of XML 1.0 §2.3, minus ":". */
export const XML_NAME_START =
  'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D' +
  '\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
/** NameChar of XML 1.0 §2.3, minus ":". */
export const XML_NAME_CHAR = `${XML_NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;

// Combining marks (U+0300–036F) are NameChars by the XML spec, hence the class range.
// eslint-disable-next-line no-misleading-character-class
const NAME = new RegExp(`^[${XML_NAME_START}][${XML_NAME_CHAR}]*$`, 'u');

/**
 * True when `name` can be an element name as it is. Names starting with "xml" (any case) are
 * reserved by XML 1.0 for future standards but well-formed, so they pass.
 */
export const isXmlName = (name: string): boolean => NAME.test(name);
