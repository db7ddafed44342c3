/* Linli console: the few behaviours plain HTML lacks. No dependencies. */
(function () {
  "use strict";
  // Copy buttons: <button data-copy="#input-id" data-copied="Copied">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    source.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done);
    } else if (document.execCommand("copy")) {
      done();
    }
  });
  // Forms that undo something ask first: <form data-confirm="Are you sure?">.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
  // Rotating passes: <section data-rotate-url="…" data-renew="20" data-lifetime="30"> with
  // #pass-code (the SVG), #pass-progress, #pass-offline. The code is fetched again every
  // `renew` seconds; if it cannot be, it fades once its lifetime is over.
  var rotating = document.querySelector("[data-rotate-url]");
  if (rotating) {
    var url = rotating.getAttribute("data-rotate-url");
    var renew = Number(rotating.getAttribute("data-renew")) || 20;
    var lifetime = Number(rotating.getAttribute("data-lifetime")) || 30;
    var code = document.getElementById("pass-code");
    var bar = document.getElementById("pass-progress");
    var offline = document.getElementById("pass-offline");
    var shownAt = Date.now();
    var fetchedAt = Date.now();
    var refresh = function () {
      fetchedAt = Date.now();
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 404 || response.status === 410) {
            window.location.reload();  // the page says why the pass ended
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (!data || !data.svg) return;
          code.innerHTML = data.svg;
          shownAt = Date.now();
          code.classList.remove("linli-qr-stale");
          if (offline) offline.classList.add("d-none");
        })
        .catch(function () {
          if (offline) offline.classList.remove("d-none");
        });
    };
    setInterval(function () {
      var age = (Date.now() - shownAt) / 1000;
      if (bar) bar.style.width = Math.max(0, 100 - (age / renew) * 100) + "%";
      if (age >= lifetime) code.classList.add("linli-qr-stale");
      if ((Date.now() - fetchedAt) / 1000 >= renew) refresh();
    }, 250);
  }
  // Live lists: <div data-live-url="…" data-last-id="N"> around a list; newer rows are
  // fetched every few seconds (?after=N, answered with table rows) and put on top.
  var live = document.querySelector("[data-live-url]");
  if (live && !live.hasAttribute("data-paused")) {
    var liveUrl = live.getAttribute("data-live-url");
    var lastId = live.getAttribute("data-last-id") || "0";
    setInterval(function () {
      var sep = liveUrl.indexOf("?") >= 0 ? "&" : "?";
      fetch(liveUrl + sep + "after=" + encodeURIComponent(lastId), { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) return null;
          lastId = response.headers.get("X-Last-Id") || lastId;
          return response.text();
        })
        .then(function (html) {
          if (!html || !html.trim()) return;
          var body = live.querySelector("tbody");
          if (!body) { window.location.reload(); return; }
          body.insertAdjacentHTML("afterbegin", html);
          while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
        })
        .catch(function () {});
    }, 3000);
  }
  // Camera capture: <div data-camera-for="<file input id>"> with a <video>, a "take" button
  // and a preview; the picture taken becomes the file input's file (the form then uploads
  // it as if chosen). Without a camera (or permission) the file input stays the way in.
  var camera = document.querySelector("[data-camera-for]");
  if (camera && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    var input = document.getElementById(camera.getAttribute("data-camera-for"));
    var video = camera.querySelector("video");
    var take = camera.querySelector("[data-camera-take]");
    var start = camera.querySelector("[data-camera-start]");
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false })
        .then(function (stream) {
          video.srcObject = stream;
          video.classList.remove("d-none");
          take.classList.remove("d-none");
          start.classList.add("d-none");
        })
        .catch(function () { camera.querySelector("[data-camera-denied]").classList.remove("d-none"); });
    });
    take.addEventListener("click", function () {
      var canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob(function (blob) {
        var files = new DataTransfer();
        files.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
        input.files = files.files;
        input.dispatchEvent(new Event("change"));
      }, "image/jpeg", 0.92);
    });
  }
  // Bring the form's error summary into view so keyboard and screen-reader users hear it.
  var summary = document.getElementById("form-errors");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
})();
