// A little progressive JavaScript: filters apply on change, job pages show live progress.
// Everything works without it (the filter button, a refreshing progress page).
"use strict";
document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
document.querySelectorAll(".job[data-job]").forEach(function (box) {
  var id = box.getAttribute("data-job");
  var bar = box.querySelector("progress");
  var state = box.querySelector(".job-state");
  var files = box.querySelector(".job-files");
  var words = { queued: "В очереди…", running: "Выполняется", ok: "Готово.", failed: "Не удалось." };
  function poll() {
    fetch("/jobs/" + id + ".json", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.value = job.percent;
        box.setAttribute("data-state", job.state);
        var text = words[job.state] || job.state;
        if (job.state === "running") { text += ": " + job.done + " из " + job.total; }
        state.textContent = text + " " + (job.message || "");
        if (job.state === "failed") { state.classList.add("error"); }
        if (job.state === "ok" || job.state === "failed") {
          files.textContent = "";
          job.files.forEach(function (name, i) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = "/jobs/" + id + "/file/" + i;
            a.textContent = name;
            a.setAttribute("download", "");
            li.appendChild(a);
            files.appendChild(li);
          });
        } else {
          setTimeout(poll, 1000);
        }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (box.getAttribute("data-state") !== "ok" && box.getAttribute("data-state") !== "failed") { poll(); }
});
