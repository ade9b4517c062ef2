// Progressive enhancement only: every page works without this file.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = Array.prototype.map.call(source.querySelectorAll("code"), function (c) {
      return c.textContent;
    }).join("\n");
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = "Copied";
    });
  });
});
