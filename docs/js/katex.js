// Render the formulas that pymdownx.arithmatex (generic mode) leaves in the page, with the KaTeX
// vendored in docs/_vendor/katex (0.19.1). Inline math arrives as <span class="arithmatex">\(...\)</span>,
// display math as <div class="arithmatex">\[...\]</div>. A formula KaTeX cannot parse is reported on
// the console (tests/test_docs_browser.py fails on any console error) and left as it was.
(function () {
  "use strict";

  function strip(text, display) {
    var open = display ? "\\[" : "\\(", close = display ? "\\]" : "\\)";
    text = text.trim();
    if (text.startsWith(open) && text.endsWith(close)) {
      return text.slice(open.length, text.length - close.length);
    }
    return text;
  }

  function renderMath(root) {
    root.querySelectorAll(".arithmatex").forEach(function (element) {
      var display = element.tagName === "DIV";
      try {
        katex.render(strip(element.textContent, display), element, {
          displayMode: display,
          throwOnError: true,
        });
      } catch (error) {
        console.error("KaTeX could not render " + JSON.stringify(element.textContent) + ": " + error);
      }
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(function (page) { renderMath(page.body); });  // Material's page-change stream
  } else {
    document.addEventListener("DOMContentLoaded", function () { renderMath(document.body); });
  }
})();
