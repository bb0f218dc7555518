"""Every domain's tables, imported in one place so Alembic, the app, the `siyu` command and the
tests see the whole schema; it sits above the domains, so `core` never imports one."""

from siyu.broadcasts import models as broadcasts  # noqa: F401
from siyu.codes import models as codes  # noqa: F401
from siyu.core import audit, auth, idempotency, jobs, meta, replay  # noqa: F401
from siyu.core.db import Base
from siyu.customers import models as customers  # noqa: F401
from siyu.events import models as events  # noqa: F401
from siyu.imports import models as imports  # noqa: F401
from siyu.journeys import models as journeys  # noqa: F401
from siyu.messaging import models as messaging  # noqa: F401
from siyu.orders import models as orders  # noqa: F401
from siyu.promotions import h5_models as promotion_pages  # noqa: F401
from siyu.promotions import member_models as members  # noqa: F401
from siyu.promotions import models as promotions  # noqa: F401
from siyu.segments import models as segments  # noqa: F401
from siyu.settings import models as settings  # noqa: F401
from siyu.staff import models as staff  # noqa: F401
from siyu.tags import models as tags  # noqa: F401
from siyu.tasks import models as tasks  # noqa: F401
from siyu.touchpoints import models as touchpoints  # noqa: F401
from siyu.users import models as users  # noqa: F401
from siyu.wechat import models as wechat  # noqa: F401
from siyu.wecom import models as wecom  # noqa: F401

metadata = Base.metadata
