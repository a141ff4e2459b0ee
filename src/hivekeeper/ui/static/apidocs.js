// Starts Swagger UI (/docs) or ReDoc (/redoc) on the API docs page, from our own copies
// of both; a file rather than an inline script, which the pages' CSP forbids.
(function () {
  "use strict";
  var swagger = document.getElementById("swagger-ui");
  if (swagger) {
    window.ui = SwaggerUIBundle({
      url: swagger.dataset.openapiUrl,
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    });
  }
  var redoc = document.getElementById("redoc");
  if (redoc) {
    // The nonce lets ReDoc's <style> elements past the page's CSP.
    Redoc.init(redoc.dataset.openapiUrl, { nonce: redoc.dataset.nonce }, redoc);
  }
})();
