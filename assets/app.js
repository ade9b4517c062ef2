// Progressive enhancement only: every page works without this file, and a button that needs
// it stays hidden without it.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.getAttribute("data-copy"));
  // The clipboard exists only in a secure context (https, or localhost).
  if (!source || !navigator.clipboard || !window.isSecureContext) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = Array.prototype.map.call(source.querySelectorAll("code"), function (c) {
      return c.textContent;
    }).join("\n");
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = button.getAttribute("data-copied") || button.textContent;
    });
  });
});
document.querySelectorAll("button[data-print]").forEach(function (button) {
  if (!window.print) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
