from tortoise import migrations
from tortoise.migrations import operations as ops

# Refunds whose return case is still running are worked there (refunds.worked_in);
# one case per refund, the first if ever two.
LINK = """
UPDATE refunds SET worked_in = (
    SELECT 'returns:return:' || MIN(rc.id) FROM return_cases rc
    WHERE rc.refund_id = refunds.id AND rc.status NOT IN ('closed', 'cancelled', 'rejected')
)
WHERE id IN (
    SELECT refund_id FROM return_cases
    WHERE refund_id IS NOT NULL AND status NOT IN ('closed', 'cancelled', 'rejected')
)
"""


class Migration(migrations.Migration):
    dependencies = [('returns', '0001_returns'), ('refunds', '0004_worked_in')]

    initial = False

    operations = [
        ops.RunSQL(LINK, reverse_sql="UPDATE refunds SET worked_in = NULL"),
    ]
