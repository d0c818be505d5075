// French for Streamlit's built-in interface. server/french_shell.py inlines this script at the
// top of the page, before Streamlit's own code, with the table of server/french_strings.json in
// place of TABLE. Streamlit 1.67 has no language setting: its widgets write English text and
// accessible names («Drag and drop a file here», «No results», «Download as CSV»). A
// MutationObserver rewrites them as soon as React puts them in the page, before the browser
// paints. Only whole texts listed in the table are changed (React keeps its own nodes: it only
// ever sets their value again, and the observer translates that too).
(function (table) {
  "use strict";
  if (!table || !window.MutationObserver) return;
  var exact = new Map(Object.entries(table.exact));
  var patterns = table.patterns.map(function (p) {
    // "free": the pattern captures any text (".+"), which could be a user's value.
    return [new RegExp(p[0], "u"), p[1], /\(\?<\w+>\.[+*]\)/.test(p[0])];
  });
  var attributes = table.attributes;
  var UNITS = { B: "o", KB: "ko", MB: "Mo", GB: "Go" };
  // Where the app's own text, or what a user typed or uploaded, is shown, and icon names
  // (translate="no"): nothing is translated.
  var CONTENT =
    '[data-testid="stMarkdown"], [data-testid="stCaptionContainer"], ' +
    '[data-testid="stHeading"], [data-testid="stTable"], [data-testid="stCode"], ' +
    '[role="grid"], canvas, code, pre, textarea, [contenteditable="true"], [translate="no"]';
  var DATA = '[role="grid"], canvas, [data-testid="stTable"]';
  // Where a user's values are listed (e.g. a file's column names): only whole phrases and
  // patterns on numbers, never a single word such as "Search" that could be one of those values.
  var VALUES = '[role="option"], [data-baseweb="tag"], [data-baseweb="select"]';
  var ALL = 0, PHRASES = 1, NOTHING = 2;

  function frenchSize(text) {
    var m = /^(\d+)(?:\.(\d+))?(B|KB|MB|GB)$/.exec(text);
    if (!m) return text;
    return m[1] + (m[2] ? "," + m[2] : "") + "\u00a0" + UNITS[m[3]];
  }

  function fill(template, groups) {
    return template.replace(/\$<(\w+)>/g, function (_, name) {
      var value = groups[name] === undefined ? "" : groups[name];
      if (name.indexOf("size") === 0) return frenchSize(value);
      return name === "key" && exact.has(value) ? exact.get(value) : value;
    });
  }

  function translate(text, scope) {
    var key = text.trim();
    if (scope === NOTHING || !key || !/[A-Za-z]/.test(key)) return null;
    var french = scope === PHRASES && !/\s/.test(key) ? undefined : exact.get(key);
    for (var i = 0; french === undefined && i < patterns.length; i++) {
      if (scope === PHRASES && patterns[i][2]) continue;
      var m = patterns[i][0].exec(key);
      if (m) french = fill(patterns[i][1], m.groups || {});
    }
    if (french === undefined || french === key) return null;
    var at = text.indexOf(key);
    return text.slice(0, at) + french + text.slice(at + key.length);
  }

  function scopeOf(node) {
    var el = node.nodeType === 1 ? node : node.parentElement;
    if (!el || el.closest(CONTENT)) return NOTHING;
    return el.closest(VALUES) ? PHRASES : ALL;
  }

  function translateText(node) {
    var french = translate(node.nodeValue, scopeOf(node));
    if (french !== null) node.nodeValue = french;
  }

  function translateAttribute(el, name) {
    // Accessible names are Streamlit's own (even on a heading's anchor), except in data tables.
    var value = el.getAttribute(name);
    var french = value && translate(value, el.closest(DATA) ? NOTHING : ALL);
    if (french) el.setAttribute(name, french);
  }

  function translateTree(root) {
    if (root.nodeType === 3) return translateText(root);
    if (root.nodeType !== 1) return;
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (var node = root; node; node = walker.nextNode()) {
      if (node.nodeType === 3) translateText(node);
      else for (var i = 0; i < attributes.length; i++) translateAttribute(node, attributes[i]);
    }
  }

  new MutationObserver(function (records) {
    for (var r = 0; r < records.length; r++) {
      var record = records[r];
      if (record.type === "characterData") translateText(record.target);
      else if (record.type === "attributes") translateAttribute(record.target, record.attributeName);
      else for (var n = 0; n < record.addedNodes.length; n++) translateTree(record.addedNodes[n]);
    }
  }).observe(document.documentElement, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: attributes,
  });
  translateTree(document.documentElement);
})(TABLE);
