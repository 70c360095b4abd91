from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('refunds', '0003_evidence')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Refund',
            name='worked_in',
            field=fields.CharField(null=True, max_length=64, db_index=True),
        ),
    ]
