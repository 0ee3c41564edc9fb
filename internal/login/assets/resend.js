// Enables the resend button when its cooldown is over. Without JavaScript
// the page says how long to wait and that a reload brings the button back.
(function () {
  var wait = document.getElementById("resend-wait");
  var button = document.getElementById("resend");
  if (!wait || !button) return;
  var seconds = parseInt(wait.getAttribute("data-seconds"), 10) || 0;
  setTimeout(function () {
    button.disabled = false;
    wait.hidden = true;
  }, seconds * 1000);
})();
