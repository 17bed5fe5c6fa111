"""An import-linter contract for the rule "apps meet only at their public doors".

import-linter's own contracts forbid named modules; this rule is the other way round: of an app,
only the modules named as its doors may be imported from outside it, whatever else the app grows.
Listed in ``pyproject.toml`` (``[tool.importlinter]``) and run by ``make lint``.

    doors      the module names every app offers (``services``, ``selectors``, ``models``...),
               packages included: ``meters.services.ingest`` is behind the ``meters.services`` door
    also_public further modules of one app that are doors too (``accounts.permissions``)
    apps       the apps whose insides are protected
    importers_exempt  importers not checked: a module and what is inside it (``config.asgi`` mounts
               the apps' websocket routes), or ``*.<name>`` for every module with that part
               (``*.tests``: tests may use other apps' factories)
"""

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class PublicDoorsContract(Contract):
    type_name = "public_doors"

    apps = fields.ListField(subfield=fields.StringField())
    doors = fields.ListField(subfield=fields.StringField())
    also_public = fields.ListField(subfield=fields.StringField(), required=False)
    importers_exempt = fields.ListField(subfield=fields.StringField(), required=False)

    def _app_of(self, module: str) -> str | None:
        # The longest app name first: meters.telemetry is its own app inside meters.
        for app in sorted(self.apps, key=len, reverse=True):
            if module == app or module.startswith(f"{app}."):
                return app
        return None

    def _is_door(self, app: str, module: str) -> bool:
        if module == app:
            return True
        rest = module[len(app) + 1 :]
        if rest.split(".")[0] in self.doors:
            return True
        return any(
            module == public or module.startswith(f"{public}.") for public in self.also_public or []
        )

    def _exempt(self, importer: str) -> bool:
        parts = importer.split(".")
        for exempt in self.importers_exempt or []:
            if exempt.startswith("*."):
                if exempt[2:] in parts:
                    return True
            elif importer == exempt or importer.startswith(f"{exempt}."):
                return True
        return False

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        broken = []
        for imported in sorted(graph.modules):
            app = self._app_of(imported)
            if app is None or self._is_door(app, imported):
                continue
            for importer in sorted(graph.find_modules_that_directly_import(imported)):
                if self._app_of(importer) == app or self._exempt(importer):
                    continue
                lines = [
                    detail["line_number"]
                    for detail in graph.get_import_details(importer=importer, imported=imported)
                ]
                broken.append((importer, imported, lines))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["broken"]:
            where = ", ".join(f"l.{line}" for line in lines)
            output.print_error(f"{importer} imports {imported}, not a public door ({where})")
        output.new_line()
        output.print(f"Doors of every app: {', '.join(self.doors)}.")
        output.print("Offer what is needed through one of them (or a registry), and import that.")
