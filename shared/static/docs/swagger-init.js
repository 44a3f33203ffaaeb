// Starts Swagger UI on the page's #swagger-ui element (a file, not an inline script, so the page's CSP can allow
// scripts from 'self' only). The document's URL and the OAuth2 redirect page come from data attributes.
window.addEventListener("load", function () {
  var element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: element.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    persistAuthorization: false,
    oauth2RedirectUrl: new URL(element.dataset.oauth2RedirectUrl, window.location.href).href,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
