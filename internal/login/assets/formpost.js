// Sends the response to the application; the button is there for browsers
// without JavaScript.
document.getElementById("form-post").submit();
