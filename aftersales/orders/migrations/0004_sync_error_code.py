from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('orders', '0003_report_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='SyncState',
            name='error_code',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='SyncState',
            name='error_params',
            field=fields.JSONField(null=True),
        ),
        ops.AddField(
            model_name='SyncError',
            name='error_code',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='SyncError',
            name='error_params',
            field=fields.JSONField(null=True),
        ),
    ]
