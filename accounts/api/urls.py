from rest_framework.routers import SimpleRouter

from accounts.api.views import AccountViewSet

router = SimpleRouter()
# Accept /api/accounts and /api/accounts/ alike; clients disagree about the slash.
router.trailing_slash = "/?"
router.register("accounts", AccountViewSet, basename="account")

urlpatterns = router.urls
