/*
 * MathJax 3 settings for the lesson book, read before MathJax loads. The book ships
 * MathJax's `tex-svg.js` (docs/build.py copies it into assets/mathjax/): it draws
 * formulas as SVG paths, so no font files are fetched, and it works from file:// and
 * with no network. $...$ and $$...$$ in the lessons' prose are typeset; code and
 * printed output are left alone.
 */
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  svg: { fontCache: "global" },
  options: {
    skipHtmlTags: ["script", "noscript", "style", "textarea", "pre", "code"]
  }
};
