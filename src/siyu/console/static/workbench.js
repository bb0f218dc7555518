// The guide's workbench: copy a task's message in one tap, a toast after each action, and inside
// WeCom's browser a button that opens the chat with the customer (WeCom's JS-SDK). Listeners sit
// on the document, so cards htmx swaps in behave the same.
(function () {
  "use strict";

  function toast(text, isError) {
    var box = document.getElementById("toast");
    if (!box || !text) return;
    box.textContent = text;
    box.classList.toggle("is-error", !!isError);
    box.hidden = false;
    clearTimeout(box.timer);
    box.timer = setTimeout(function () { box.hidden = true; }, 2500);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return copyBySelection(text); });
    }
    return copyBySelection(text);
  }

  // WeCom's and older browsers: copy through a selected, off-screen field.
  function copyBySelection(text) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.style.position = "fixed";
    field.style.top = "-1000px";
    document.body.appendChild(field);
    field.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(field); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy-text]");
    if (copy) {
      var source = document.getElementById(copy.dataset.copyText);
      copyText(source.textContent.trim()).then(function () { toast(copy.dataset.copied); });
      return;
    }
    var chat = event.target.closest("[data-open-chat]");
    if (chat && window.wx) {
      window.wx.openEnterpriseChat({
        userIds: "", externalUserIds: chat.dataset.openChat, groupName: "", chatId: "",
        fail: function (answer) { toast(answer && answer.errMsg, true); }
      });
    }
  });

  // A card's answer names its toast in HX-Trigger: {"siyu-toast": {"text": …, "error": …}}.
  document.addEventListener("siyu-toast", function (event) {
    toast(event.detail.text, event.detail.error);
  });

  // Inside WeCom: wx.config (the corp's signature), then wx.agentConfig (the app's), then show
  // the open-chat buttons. The page carries the signatures only inside WeCom's browser.
  function setUpWecom() {
    var config = document.getElementById("wecom-config");
    if (!config || !window.wx) return;
    var signed = JSON.parse(config.textContent);
    var failed = function (answer) { toast(answer && answer.errMsg, true); };
    window.wx.config({
      beta: true, debug: false, appId: signed.corpid, timestamp: signed.timestamp,
      nonceStr: signed.nonceStr, signature: signed.signature, jsApiList: ["openEnterpriseChat"]
    });
    window.wx.error(failed);
    window.wx.ready(function () {
      window.wx.agentConfig({
        corpid: signed.corpid, agentid: signed.agentid, timestamp: signed.timestamp,
        nonceStr: signed.nonceStr, signature: signed.agentSignature,
        jsApiList: ["openEnterpriseChat"],
        success: function () {
          document.body.classList.add("in-wecom");
          document.querySelectorAll("[data-open-chat]").forEach(function (b) { b.hidden = false; });
        },
        fail: failed
      });
    });
  }
  document.addEventListener("DOMContentLoaded", setUpWecom);
  // Cards swapped in later show the button too, once WeCom said yes.
  document.addEventListener("htmx:afterSwap", function () {
    if (!document.body.classList.contains("in-wecom")) return;
    document.querySelectorAll("[data-open-chat]").forEach(function (b) { b.hidden = false; });
  });
})();
