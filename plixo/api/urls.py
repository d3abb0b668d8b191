from ninja import NinjaAPI

api = NinjaAPI(title="Plixo API", version="1", urls_namespace="api")
