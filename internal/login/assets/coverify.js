// Cross-origin verification (see CrossOriginVerify): the application's page
// in the frame answers "ready", then the verifier auth0.js stored for this
// origin and co_id; the form posts it. No answer in ten seconds posts none.
(function () {
  var form = document.getElementById("co-verify");
  var frame = document.getElementById("co-frame");
  var loc = form.getAttribute("data-location");
  var from = new URL(loc).origin;
  var done = false;
  function post(verifier) {
    if (done) {
      return;
    }
    done = true;
    form.elements.co_verifier.value = typeof verifier === "string" ? verifier : "";
    form.submit();
  }
  window.addEventListener("message", function (e) {
    if (e.origin !== from || e.source !== frame.contentWindow || !e.data) {
      return;
    }
    if (e.data.type === "ready") {
      frame.contentWindow.postMessage({ type: "co_verifier_request", request: { id: form.getAttribute("data-id") } }, from);
    } else if (e.data.type === "co_verifier_response") {
      post(e.data.response && e.data.response.verifier);
    }
  });
  setTimeout(post, 10000);
  frame.src = loc.split("#")[0] + "#origin=" + encodeURIComponent(window.location.origin);
})();
