"""Routes under `/templates`: every query is scoped to the caller's user id.

Writes need an access token (an API key gets 403: keys never write templates).
Reads, versions and preview also accept an API key with the opt-in
`templates:read` scope.
"""

from __future__ import annotations

from flask.views import MethodView

from notifier.auth.principal import auth_required, current_principal
from notifier.templates import messages, service
from notifier.templates.schemas import (
    PreviewResultSchema,
    PreviewSchema,
    TemplateCreateSchema,
    TemplatePatchSchema,
    TemplatePutSchema,
    TemplateQuerySchema,
    TemplateSchema,
    TemplateVersionSchema,
)
from notifier.web import Blueprint

READ = "templates:read"

blp = Blueprint(
    "templates",
    __name__,
    url_prefix="/templates",
    description="Message copy with {{ name }} placeholders: write it once, send it by id",
)


@blp.route("")
class Templates(MethodView):
    @auth_required(scope=READ)
    @blp.arguments(TemplateQuerySchema(), location="query")
    @blp.response(200, TemplateSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List your templates, newest first

        Filter by `channel`; page with `page` and `page_size` (at most 100).
        The `X-Pagination` header holds the totals.
        """
        items, total = service.list_templates(
            current_principal().user_id,
            filters,
            pagination_parameters.page,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items

    @auth_required()
    @blp.arguments(TemplateCreateSchema())
    @blp.response(201, TemplateSchema)
    def post(self, data):
        """Create a template (version 1)

        `title` and `content` follow the notification rules and may hold
        `{{ name }}` placeholders. At most 1000 templates per user.
        """
        body = service.create_template(current_principal().user_id, data)
        return body, 201, {"Location": f"/templates/{body['id']}"}


@blp.route("/<id:template_id>")
class TemplateById(MethodView):
    @auth_required(scope=READ)
    @blp.response(200, TemplateSchema)
    def get(self, template_id):
        """Get one template, at its current version"""
        return service.get_template(current_principal().user_id, template_id)

    @auth_required()
    @blp.arguments(TemplatePutSchema())
    @blp.response(200, TemplateSchema)
    def put(self, data, template_id):
        """Replace a template's name, title and content

        A change of `title` or `content` makes a new version; the channel is fixed.
        """
        return service.update_template(current_principal().user_id, template_id, data)

    @auth_required()
    @blp.arguments(TemplatePatchSchema())
    @blp.response(200, TemplateSchema)
    def patch(self, data, template_id):
        """Change some of a template's name, title and content

        A change of `title` or `content` makes a new version; a rename alone keeps it.
        """
        return service.update_template(current_principal().user_id, template_id, data)

    @auth_required()
    @blp.response(204)
    def delete(self, template_id):
        """Delete a template: it can no longer be read or sent

        Notifications sent from it keep their text; its id is never reused.
        """
        service.delete_template(current_principal().user_id, template_id)


@blp.route("/<id:template_id>/versions")
class Versions(MethodView):
    @auth_required(scope=READ)
    @blp.response(200, TemplateVersionSchema(many=True))
    def get(self, template_id):
        """Every version of a template, newest first"""
        return service.list_versions(current_principal().user_id, template_id)


@blp.route("/<id:template_id>/versions/<id:version>")
class VersionByNumber(MethodView):
    @auth_required(scope=READ)
    @blp.response(200, TemplateVersionSchema)
    def get(self, template_id, version):
        """Get one version of a template"""
        return service.get_version(current_principal().user_id, template_id, version)


@blp.route("/<id:template_id>/preview")
class Preview(MethodView):
    @auth_required(checked_in_statement=True, scope=READ)
    @blp.arguments(PreviewSchema())
    @blp.response(200, PreviewResultSchema)
    def post(self, data, template_id):
        """Render a template with values, without sending

        The answer is exactly what a send would store, with the delivery
        details: `encoding` and `segments` for sms, `payload_bytes` for push.
        """
        return messages.preview(template_id, data)
